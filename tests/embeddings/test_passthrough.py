"""Pass-through in-process: any other /v1 path forwarded, model rewritten, reply relayed."""

from __future__ import annotations

import json

import respx
from asgiref.sync import sync_to_async

from recording.models import RequestBody
from routing.models import ModelMapping, Route, RouteTarget, Upstream
from tests.fixtures import UPSTREAM
from tests.routing.helpers import sent_json

RERANK = {"model": "reranker", "query": "q", "documents": ["a", "b"]}
RANKED = {"results": [{"index": 1, "relevance_score": 0.9}], "usage": {"prompt_tokens": 5}}


async def test_a_json_body_goes_on_with_only_its_model_rewritten(gateway, upstream):
    await ModelMapping.objects.acreate(pattern="reranker", replacement="bge-reranker")
    route = upstream.post("/v1/rerank").respond(json=RANKED)
    response = await gateway.post(
        "/v1/rerank?top=2", json=RERANK, headers={"X-Custom": "yes", "Cookie": "session=1"}
    )
    assert response.status_code == 200 and response.json() == RANKED
    sent = route.calls.last.request
    assert sent_json(route) == {**RERANK, "model": "bge-reranker"}
    assert sent.url.query == b"top=2"
    assert sent.headers["x-custom"] == "yes" and "cookie" not in sent.headers


async def test_an_unchanged_model_leaves_the_body_byte_for_byte(gateway, upstream):
    raw = b'{"input":  "x",\n "model": "m"}'
    route = upstream.post("/v1/moderations").respond(json={"results": []})
    await gateway.post("/v1/moderations", content=raw, headers={"content-type": "application/json"})
    assert route.calls.last.request.content == raw


async def test_the_upstreams_error_comes_back_as_it_was(gateway, upstream):
    upstream.post("/v1/nothing-here").respond(404, text="not here", headers={"x-up": "1"})
    response = await gateway.post("/v1/nothing-here", json={})
    assert response.status_code == 404 and response.text == "not here"
    assert response.headers["x-up"] == "1"


async def test_a_route_sends_a_model_to_its_upstream(gateway, upstream):
    other = await Upstream.objects.acreate(name="audio", base_url="http://audio.test")
    await Route.objects.acreate(match_model="whisper-1", upstream=other, rewrite_model="large-v3")
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("http://audio.test/v1/audio/translations").respond(json={"text": "hi"})
        files = {"file": ("a.wav", b"RIFF" + b"\0" * 1000, "audio/wav")}
        response = await gateway.post(
            "/v1/audio/translations", data={"model": "whisper-1"}, files=files
        )
    assert response.json() == {"text": "hi"}
    sent = route.calls.last.request
    assert b'name="model"\r\n\r\nlarge-v3\r\n' in sent.content
    assert sent.headers["content-length"] == str(len(sent.content))


async def test_a_target_that_fails_hands_the_request_to_the_next(gateway, upstream):
    first = await Upstream.objects.acreate(name="first", base_url="http://first.test")
    second = await Upstream.objects.acreate(name="second", base_url="http://second.test")
    rule = await Route.objects.acreate(match_model="reranker")
    await RouteTarget.objects.acreate(route=rule, upstream=first, position=0)
    await RouteTarget.objects.acreate(route=rule, upstream=second, position=1)
    with respx.mock(assert_all_called=False) as mock:
        mock.post("http://first.test/v1/rerank").respond(503, json={"error": "busy"})
        mock.post("http://second.test/v1/rerank").respond(json=RANKED)
        response = await gateway.post("/v1/rerank", json=RERANK)
    assert response.status_code == 200 and response.json() == RANKED


async def test_the_row_has_method_path_models_and_bytes(gateway, upstream, recorded):
    await ModelMapping.objects.acreate(pattern="reranker", replacement="bge")
    upstream.post("/v1/rerank").respond(json=RANKED)
    response = await gateway.post("/v1/rerank", json=RERANK)
    [row] = await sync_to_async(recorded)(1)
    assert (row.service, row.kind, row.endpoint) == ("openai", "passthrough", "/v1/rerank")
    assert (row.model_in, row.model_out, row.status, row.state) == ("reranker", "bge", 200, "ok")
    assert row.details["method"] == "POST" and row.details["path"] == "/v1/rerank"
    assert row.bytes_in == len(response.request.content)
    assert row.bytes_out == len(response.content)
    assert row.prompt_tokens == 5
    body = await RequestBody.objects.aget(pk=row.id)
    assert json.loads(body.response_text()) == RANKED
    assert json.loads(body.request_text())["query"] == "q"


async def test_a_binary_reply_is_relayed_with_its_type_and_not_logged(gateway, upstream, recorded):
    audio = bytes(range(256)) * 64
    upstream.post("/v1/audio/speech").respond(content=audio, headers={"content-type": "audio/mpeg"})
    response = await gateway.post("/v1/audio/speech", json={"model": "tts", "input": "hi"})
    assert response.content == audio and response.headers["content-type"] == "audio/mpeg"
    [row] = await sync_to_async(recorded)(1)
    assert row.bytes_out == len(audio)
    body = await RequestBody.objects.aget(pk=row.id)
    assert body.response_text() == ""


async def test_a_get_without_a_model_goes_to_the_default_upstream(gateway, upstream):
    upstream.get("/v1/files").respond(json={"data": []})
    response = await gateway.get("/v1/files")
    assert response.json() == {"data": []}
    assert upstream.calls.last.request.url == f"{UPSTREAM}/v1/files"
