"""Ollama's /api/embed and /api/embeddings in-process: translation and Ollama's shapes."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from tests.embeddings.helpers import embeddings_reply
from tests.routing.helpers import sent_json

PATH = "/v1/embeddings"
VECTORS = [[0.5, -0.25], [1.0, 2.0]]


async def test_embed_sends_floats_asked_and_answers_ollamas_shape(gateway, upstream, recorded):
    route = upstream.post(PATH).respond(json=embeddings_reply(VECTORS, as_base64=True))
    response = await gateway.post(
        "/api/embed",
        json={"model": "nomic", "input": ["a", "b"], "truncate": False, "keep_alive": "1m"},
    )
    assert sent_json(route) == {"model": "nomic", "input": ["a", "b"], "encoding_format": "float"}
    body = response.json()
    assert body["model"] == "nomic" and body["embeddings"] == VECTORS
    assert body["prompt_eval_count"] == 4 and body["load_duration"] == 0
    assert isinstance(body["total_duration"], int) and body["total_duration"] > 0
    [row] = await sync_to_async(recorded)(1)
    assert (row.service, row.kind, row.endpoint) == ("ollama", "embeddings", "/api/embed")


async def test_the_older_endpoint_answers_one_vector(gateway, upstream):
    route = upstream.post(PATH).respond(json=embeddings_reply(VECTORS[:1]))
    response = await gateway.post("/api/embeddings", json={"model": "nomic", "prompt": "p"})
    assert response.json() == {"embedding": VECTORS[0]}
    assert sent_json(route)["input"] == "p"


async def test_an_empty_input_is_answered_without_the_upstream(gateway, upstream):
    route = upstream.post(PATH).respond(json=embeddings_reply(VECTORS))
    embed = await gateway.post("/api/embed", json={"model": "nomic"})
    legacy = await gateway.post("/api/embeddings", json={"model": "nomic", "prompt": ""})
    assert embed.json()["embeddings"] == [] and legacy.json() == {"embedding": []}
    assert not route.called


async def test_prompt_eval_count_is_counted_without_upstream_usage(gateway, upstream):
    upstream.post(PATH).respond(json=embeddings_reply(VECTORS, usage=False))
    response = await gateway.post("/api/embed", json={"model": "m", "input": "hello world"})
    assert response.json()["prompt_eval_count"] == 2


async def test_errors_have_ollamas_shape(gateway, upstream):
    upstream.post(PATH).respond(500, json={"error": {"message": "model crashed"}})
    failed = await gateway.post("/api/embed", json={"model": "m", "input": "x"})
    assert failed.status_code == 500 and failed.json() == {"error": "model crashed"}
    missing = await gateway.post("/api/embed", json={"input": "x"})
    assert missing.status_code == 400 and missing.json() == {"error": "model is required"}
    mixed = await gateway.post("/api/embed", json={"model": "m", "input": ["a", 1]})
    assert mixed.status_code == 400 and set(mixed.json()) == {"error"}
