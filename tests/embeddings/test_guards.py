"""Gateway keys, rate limits, routing with fallback and the cache apply to embeddings and
pass-through as to chat; Ollama's model management needs a key allowed to manage models."""

from __future__ import annotations

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from routing.models import GatewayKey, Route, RouteTarget, Upstream
from routing.rules.rates import Rate
from tests.embeddings.helpers import embeddings_reply
from tests.routing.helpers import sent_json

EMBED = "/v1/embeddings"
BODY = {"model": "e", "input": "hello"}
RERANK = {"model": "r", "query": "q", "documents": ["a"]}
OLLAMA = "http://ollama.test"


@pytest.fixture(autouse=True)
def fresh_counts():
    from django.core.cache import cache

    cache.clear()


async def make_key(**fields) -> str:
    key = GatewayKey(name=fields.pop("name", "team"), **fields)
    secret = key.issue()
    await key.asave()
    return secret


async def test_keys_are_required_and_never_forwarded(gateway, upstream, settings):
    settings.REQUIRE_GATEWAY_KEY = True
    embed = upstream.post(EMBED).respond(json=embeddings_reply([[1.0]]))
    rerank = upstream.post("/v1/rerank").respond(json={"results": []})
    assert (await gateway.post(EMBED, json=BODY)).status_code == 401
    assert (await gateway.post("/v1/rerank", json=RERANK)).status_code == 401
    missing = await gateway.post("/api/embed", json={"model": "e", "input": "x"})
    assert missing.status_code == 401 and set(missing.json()) == {"error"}
    secret = await make_key()
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await gateway.post(EMBED, json=BODY, headers=auth)).status_code == 200
    assert (await gateway.post("/v1/rerank", json=RERANK, headers=auth)).status_code == 200
    for route in (embed, rerank):
        assert secret not in str(route.calls.last.request.headers)


async def test_a_key_limited_to_some_models_is_held_to_them(gateway, upstream):
    upstream.post(EMBED).respond(json=embeddings_reply([[1.0]]))
    upstream.post("/v1/rerank").respond(json={"results": []})
    upstream.get("/v1/files").respond(json={"data": []})
    headers = {"X-Gateway-Key": await make_key(allowed_models="e\nr")}
    allowed = [
        await gateway.post(EMBED, json=BODY, headers=headers),
        await gateway.post("/v1/rerank", json=RERANK, headers=headers),
    ]
    refused = [
        await gateway.post(EMBED, json={**BODY, "model": "other"}, headers=headers),
        await gateway.post("/v1/rerank", json={**RERANK, "model": "other"}, headers=headers),
        await gateway.get("/v1/files", headers=headers),  # names no model
    ]
    assert [r.status_code for r in allowed] == [200, 200]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert {r.json()["error"]["code"] for r in refused} == {"model_not_allowed"}


async def test_the_rate_limit_counts_embeddings_and_pass_through(gateway, upstream, settings):
    settings.RATE_LIMIT = Rate(2, 60)
    upstream.post(EMBED).respond(json=embeddings_reply([[1.0]]))
    upstream.post("/v1/rerank").respond(json={"results": []})
    answers = [
        await gateway.post(EMBED, json=BODY),
        await gateway.post("/v1/rerank", json=RERANK),
        await gateway.post(EMBED, json=BODY),
        await gateway.post("/v1/rerank", json=RERANK),
    ]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "2"
    assert answers[3].json()["error"]["code"] == "rate_limit_exceeded"


async def test_embeddings_fall_back_to_the_next_target(gateway, upstream):
    first = await Upstream.objects.acreate(name="first", base_url="http://first.test")
    second = await Upstream.objects.acreate(name="second", base_url="http://second.test")
    rule = await Route.objects.acreate(match_model="e")
    await RouteTarget.objects.acreate(route=rule, upstream=first, position=0)
    await RouteTarget.objects.acreate(route=rule, upstream=second, position=1, model="e-2")
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"http://first.test{EMBED}").mock(side_effect=httpx.ConnectError("down"))
        late = mock.post(f"http://second.test{EMBED}").respond(json=embeddings_reply([[2.0]]))
        response = await gateway.post(EMBED, json=BODY)
    assert response.json()["data"][0]["embedding"] == [2.0]
    assert sent_json(late)["model"] == "e-2"


async def test_the_cache_answers_embeddings_and_rerank_again_per_caller(
    gateway, upstream, settings, recorded
):
    settings.CACHE_ENABLED = True
    embed = upstream.post(EMBED).respond(json=embeddings_reply([[0.5, 0.25]]))
    rerank = upstream.post("/v1/rerank").respond(json={"results": [{"index": 0}]})
    first = await gateway.post(EMBED, json=BODY)
    ranked = await gateway.post("/v1/rerank", json=RERANK)
    await sync_to_async(recorded)(0)
    again = await gateway.post(EMBED, json={**BODY, "encoding_format": "base64"})
    hit = await gateway.post(EMBED, json=BODY)
    ranked_again = await gateway.post("/v1/rerank", json=RERANK)
    other = await gateway.post(EMBED, json=BODY, headers={"Authorization": "Bearer sk-other"})
    assert (first.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT")
    assert hit.json() == first.json() and again.headers["x-cache"] == "MISS"
    assert (ranked.headers["x-cache"], ranked_again.headers["x-cache"]) == ("MISS", "HIT")
    assert ranked_again.json() == ranked.json()
    assert other.headers["x-cache"] == "MISS"
    assert (embed.call_count, rerank.call_count) == (3, 1)


async def test_a_post_that_may_create_something_is_never_cached(gateway, upstream, settings):
    settings.CACHE_ENABLED = True
    route = upstream.post("/v1/batches").respond(json={"id": "batch_1"})
    await gateway.post("/v1/batches", json={"input_file_id": "f"})
    second = await gateway.post("/v1/batches", json={"input_file_id": "f"})
    assert route.call_count == 2 and "x-cache" not in second.headers


async def test_an_upload_over_max_upload_bytes_is_a_413(gateway, upstream, settings):
    settings.MAX_UPLOAD_BYTES = 4096
    route = upstream.post("/v1/audio/transcriptions").respond(json={"text": "x"})
    files = {"file": ("a.wav", b"\0" * 10_000, "audio/wav")}
    response = await gateway.post("/v1/audio/transcriptions", data={"model": "w"}, files=files)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert not route.called


async def test_a_json_pass_through_body_keeps_max_request_bytes(gateway, upstream, settings):
    settings.MAX_REQUEST_BYTES = 2048
    route = upstream.post("/v1/rerank").respond(json={})
    response = await gateway.post("/v1/rerank", json={**RERANK, "query": "q" * 5000})
    assert response.status_code == 413 and not route.called


async def test_model_management_needs_a_key_allowed_to_manage(gateway, settings):
    settings.OLLAMA_UPSTREAM_URL = OLLAMA
    settings.REQUIRE_GATEWAY_KEY = True
    plain = await make_key(name="plain")
    manager = await make_key(name="ops", manage_models=True)
    with respx.mock(assert_all_called=False) as mock:
        pulled = mock.post(f"{OLLAMA}/api/pull").respond(json={"status": "success"})
        deleted = mock.delete(f"{OLLAMA}/api/delete").respond(200)
        anonymous = await gateway.post("/api/pull", json={"model": "m", "stream": False})
        refused = await gateway.post(
            "/api/pull", json={"model": "m"}, headers={"X-Gateway-Key": plain}
        )
        allowed = await gateway.post(
            "/api/pull", json={"model": "m", "stream": False}, headers={"X-Gateway-Key": manager}
        )
        removed = await gateway.request(
            "DELETE", "/api/delete", json={"model": "m"}, headers={"X-Gateway-Key": manager}
        )
    assert anonymous.status_code == 401 and refused.status_code == 403
    assert "may not manage models" in refused.json()["error"]
    assert allowed.json() == {"status": "success"} and removed.status_code == 200
    assert pulled.call_count == 1 and deleted.call_count == 1
    assert manager not in str(pulled.calls.last.request.headers)


async def test_without_an_ollama_management_is_a_502_saying_so(gateway, settings, recorded):
    settings.OLLAMA_UPSTREAM_URL = OLLAMA
    with respx.mock:
        respx.post(f"{OLLAMA}/api/copy").mock(side_effect=httpx.ConnectError("refused"))
        response = await gateway.post("/api/copy", json={"source": "a", "destination": "b"})
    assert response.status_code == 502
    assert "needs an Ollama behind the gateway" in response.json()["error"]
    [row] = await sync_to_async(recorded)(1)
    assert (row.service, row.kind, row.model_in, row.status) == ("ollama", "passthrough", "a", 502)
