"""Ollama endpoints in-process: the Ollama upstream is asked first, the rest is built here."""

from __future__ import annotations

import httpx
import pytest
import respx

from routing.models import Route

OLLAMA = "http://ollama.test"


async def test_tags_come_from_the_ollama_upstream_plus_route_aliases(gateway, settings):
    settings.OLLAMA_UPSTREAM_URL = OLLAMA
    await Route.objects.acreate(match_model="gpt-4")
    model = {
        "name": "llama3:8b",
        "model": "llama3:8b",
        "modified_at": "2026-01-01T00:00:00Z",
        "size": 4_000_000_000,
        "digest": "abc",
        "details": {"family": "llama"},
    }
    with respx.mock:
        respx.get(f"{OLLAMA}/api/tags").respond(json={"models": [model]})
        response = await gateway.get("/api/tags")
    names = [m["name"] for m in response.json()["models"]]
    assert names == ["llama3:8b", "gpt-4"]
    assert response.json()["models"][0] == model


async def test_tags_fall_back_to_the_openai_model_list(gateway, settings):
    settings.OLLAMA_UPSTREAM_URL = OLLAMA
    with respx.mock:
        respx.get(f"{OLLAMA}/api/tags").mock(side_effect=httpx.ConnectError("no ollama"))
        respx.get(f"{settings.DEFAULT_UPSTREAM}/v1/models").respond(
            json={"data": [{"id": "qwen", "created": 0}]}
        )
        response = await gateway.get("/api/tags")
    assert [m["model"] for m in response.json()["models"]] == ["qwen"]


async def test_show_and_version_ask_the_ollama_upstream_first(gateway, settings):
    settings.OLLAMA_UPSTREAM_URL = OLLAMA
    with respx.mock:
        respx.post(f"{OLLAMA}/api/show").respond(json={"model_info": {"x": 1}, "template": "T"})
        respx.get(f"{OLLAMA}/api/version").respond(json={"version": "0.13.1"})
        shown = await gateway.post("/api/show", json={"name": "llama3"})
        version = await gateway.get("/api/version")
    assert shown.json() == {"model_info": {"x": 1}, "template": "T"}
    assert version.json() == {"version": "0.13.1"}


async def test_show_without_a_name_is_a_400_in_ollamas_shape(gateway):
    response = await gateway.post("/api/show", json={})
    assert response.status_code == 400
    assert response.json() == {"error": "model is required"}


@pytest.mark.parametrize(
    "tool_calls",
    [
        [{"function": "x"}],
        ["x"],
        [{"function": {"name": 7}}],
        [{"function": {"name": "f", "arguments": 5}}],
        "not a list",
    ],
)
async def test_malformed_tool_calls_are_a_400_in_ollamas_shape(gateway, upstream, tool_calls):
    route = upstream.post("/v1/chat/completions").respond(json={})
    messages = [{"role": "assistant", "content": "", "tool_calls": tool_calls}]
    response = await gateway.post("/api/chat", json={"model": "m", "messages": messages})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"} and "tool" in response.json()["error"]
    assert not route.called
