"""POST /v1/embeddings in-process: shapes, formats, routing, recording."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from recording.models import Conversation, RequestBody
from tests.embeddings.helpers import embeddings_reply, packed, unpacked
from tests.routing.helpers import sent_json

PATH = "/v1/embeddings"
VECTORS = [[0.5, -0.25, 1.0], [0.125, 0.0, -2.0]]


@pytest.mark.parametrize(
    "value",
    ["a text", ["one", "two"], [1, 2, 3], [[1, 2], [3]]],
)
async def test_every_input_shape_is_sent_on_unchanged(gateway, upstream, value):
    route = upstream.post(PATH).respond(json=embeddings_reply(VECTORS))
    response = await gateway.post(PATH, json={"model": "e", "input": value, "user": "u1"})
    assert response.status_code == 200
    assert sent_json(route) == {"model": "e", "input": value, "user": "u1"}
    assert [d["embedding"] for d in response.json()["data"]] == VECTORS


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "e"}, "input"),
        ({"model": "e", "input": ""}, "input"),
        ({"model": "e", "input": []}, "input"),
        ({"model": "e", "input": ["a", 1]}, "input"),
        ({"model": "e", "input": [[1], ["a"]]}, "input"),
        ({"model": "e", "input": "a", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "e", "input": "a", "dimensions": 0}, "dimensions"),
        ({"model": "e", "input": "a", "user": 5}, "user"),
        ({"input": "a"}, "model"),
    ],
)
async def test_bad_bodies_are_a_400_naming_the_field(gateway, upstream, body, param):
    route = upstream.post(PATH).respond(json=embeddings_reply(VECTORS))
    response = await gateway.post(PATH, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert not route.called


async def test_base64_asked_and_given_is_relayed_byte_for_byte(gateway, upstream):
    reply = embeddings_reply(VECTORS, as_base64=True)
    raw = json.dumps(reply, indent=1).encode()
    route = upstream.post(PATH).respond(content=raw, headers={"content-type": "application/json"})
    response = await gateway.post(
        PATH, json={"model": "e", "input": ["a", "b"], "encoding_format": "base64"}
    )
    assert sent_json(route)["encoding_format"] == "base64"
    assert response.content == raw
    assert response.headers["content-length"] == str(len(raw))


async def test_an_upstream_that_ignores_base64_is_answered_in_base64(gateway, upstream):
    upstream.post(PATH).respond(json=embeddings_reply(VECTORS))
    response = await gateway.post(
        PATH, json={"model": "e", "input": ["a", "b"], "encoding_format": "base64"}
    )
    data = response.json()["data"]
    assert [d["embedding"] for d in data] == [packed(v) for v in VECTORS]
    assert [unpacked(d["embedding"]) for d in data] == VECTORS
    assert response.json()["usage"] == {"prompt_tokens": 4, "total_tokens": 4}


async def test_floats_asked_from_an_upstream_that_sends_base64_are_floats(gateway, upstream):
    upstream.post(PATH).respond(json=embeddings_reply(VECTORS, as_base64=True))
    response = await gateway.post(PATH, json={"model": "e", "input": ["a", "b"]})
    assert [d["embedding"] for d in response.json()["data"]] == VECTORS


async def test_model_map_and_dimensions_apply(gateway, upstream, settings):
    from routing.models import ModelMapping

    await ModelMapping.objects.acreate(pattern="text-embedding-3-small", replacement="nomic")
    route = upstream.post(PATH).respond(json=embeddings_reply(VECTORS))
    await gateway.post(
        PATH, json={"model": "text-embedding-3-small", "input": "x", "dimensions": 3}
    )
    assert sent_json(route) == {"model": "nomic", "input": "x", "dimensions": 3}


async def test_an_upstream_error_comes_back_in_openais_shape(gateway, upstream):
    upstream.post(PATH).respond(400, json={"error": {"message": "too long", "type": "x"}})
    response = await gateway.post(PATH, json={"model": "e", "input": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "too long"


async def test_an_answer_that_is_no_embeddings_list_is_a_502(gateway, upstream):
    upstream.post(PATH).respond(json={"object": "list", "data": "nope"})
    response = await gateway.post(PATH, json={"model": "e", "input": "x"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_bad_response"


async def test_the_row_has_its_kind_counts_and_a_summary_instead_of_vectors(
    gateway, upstream, recorded
):
    upstream.post(PATH).respond(json=embeddings_reply(VECTORS, usage={"prompt_tokens": 7}))
    response = await gateway.post(
        PATH,
        json={"model": "e", "input": ["a", "b"], "api_key": "sk-secret-in-body"},
        headers={"Authorization": "Bearer sk-client"},
    )
    assert response.status_code == 200
    [row] = await sync_to_async(recorded)(1)
    assert (row.service, row.kind, row.endpoint) == ("openai", "embeddings", PATH)
    assert row.prompt_tokens == 7 and row.completion_tokens is None
    assert row.details == {"inputs": 2, "dimensions": 3, "encoding_format": "float"}
    assert str(row.id) == response.headers["x-request-id"]
    body = await RequestBody.objects.aget(pk=row.id)
    stored = json.loads(body.response_text())
    assert stored["embeddings"] == 2 and stored["vectors"] == "not stored"
    assert "0.125" not in body.response_text()
    assert "sk-secret-in-body" not in body.request_text()
    assert await Conversation.objects.acount() == 0


async def test_prompt_tokens_are_counted_when_the_upstream_reports_none(
    gateway, upstream, recorded
):
    upstream.post(PATH).respond(json=embeddings_reply(VECTORS, usage=False))
    await gateway.post(PATH, json={"model": "e", "input": ["hello world", "again"]})
    [row] = await sync_to_async(recorded)(1)
    assert row.prompt_tokens == 3 and row.tokens_estimated


async def test_a_batch_of_several_megabytes_is_taken_up_to_max_request_bytes(gateway, upstream):
    texts = ["x" * 1000] * 4000  # 4 MB, above Django's own 2.5 MB default
    route = upstream.post(PATH).respond(json=embeddings_reply([[0.5]] * 4000))
    response = await gateway.post(PATH, json={"model": "e", "input": texts})
    assert response.status_code == 200 and len(response.json()["data"]) == 4000
    assert len(sent_json(route)["input"]) == 4000


async def test_a_large_reply_is_handed_out_whole_and_unchanged(gateway, upstream):
    vectors = [[i / 1000 for i in range(1024)]] * 300  # about 2 MB of numbers
    reply = json.dumps(embeddings_reply(vectors)).encode()
    upstream.post(PATH).respond(content=reply, headers={"content-type": "application/json"})
    response = await gateway.post(PATH, json={"model": "e", "input": ["a"] * 300})
    assert response.content == reply
