"""POST /v1/chat/completions and /v1/completions through the gateway's ASGI app."""

from __future__ import annotations

import httpx
import pytest
import respx

from routing.models import ModelMapping, Route, Upstream
from tests.routing.helpers import chat_reply, sent_json, sse_contents, sse_response

CHAT = "/v1/chat/completions"
HELLO = {"model": "gpt-4", "messages": [{"role": "user", "content": "Hi"}]}


async def test_it_forwards_and_strips_thinking_from_a_whole_reply(gateway, upstream):
    route = upstream.post("/v1/chat/completions").respond(
        json=chat_reply("<think>plan</think>Hello!")
    )
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello!"
    assert sent_json(route)["messages"] == HELLO["messages"]


async def test_unknown_fields_tools_and_response_format_pass_untouched(gateway, upstream):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    body = {
        **HELLO,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "response_format": {"type": "json_object"},
        "x_vendor": {"a": [1, 2]},
        "stream_options": {"include_usage": True},
    }
    await gateway.post(CHAT, json=body)
    assert sent_json(route) == body


async def test_the_model_map_rewrites_the_model_sent_upstream(gateway, upstream):
    await ModelMapping.objects.acreate(pattern="/gpt-(.*)/", replacement=r"llama-\1")
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO)
    assert sent_json(route)["model"] == "llama-4"


async def test_a_route_sends_matching_clients_to_its_upstream(gateway, upstream):
    gpu = await Upstream.objects.acreate(name="gpu", base_url="http://gpu.test/v1")
    await Route.objects.acreate(match_source="10.1.0.0/16", upstream=gpu, rewrite_model="big")
    with respx.mock as other:
        route = other.post("http://gpu.test/v1/chat/completions").respond(json=chat_reply("ok"))
        response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 200
    assert sent_json(route)["model"] == "big"


async def test_the_default_model_fills_a_missing_model(gateway, upstream, settings):
    settings.DEFAULT_MODEL = "house-model"
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json={"messages": HELLO["messages"]})
    assert sent_json(route)["model"] == "house-model"


async def test_disable_thinking_appends_no_think_to_the_last_user_message(
    gateway, upstream, settings
):
    settings.DISABLE_THINKING = True
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO)
    assert sent_json(route)["messages"][-1]["content"] == "Hi /no_think"


async def test_json_markdown_is_unfenced_when_enabled(gateway, upstream, settings):
    settings.STRIP_JSON_MARKDOWN = True
    upstream.post("/v1/chat/completions").respond(json=chat_reply('```json\n{"a": 1}\n```'))
    response = await gateway.post(CHAT, json=HELLO)
    assert response.json()["choices"][0]["message"]["content"] == '{"a": 1}'


async def test_a_stream_is_relayed_with_think_tags_split_across_chunks(gateway, upstream):
    upstream.post("/v1/chat/completions").mock(
        return_value=sse_response(["<thi", "nk>sec", "ret</th", "ink>Vis", "ible"], sep="\r\n\r\n")
    )
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    content, events = sse_contents(response.text)
    assert content == "Visible"
    assert response.text.rstrip().endswith("data: [DONE]")
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


async def test_text_completions_are_proxied(gateway, upstream):
    route = upstream.post("/v1/completions").respond(
        json={
            "id": "c",
            "object": "text_completion",
            "model": "m",
            "choices": [{"index": 0, "text": "<think>x</think>42", "finish_reason": "stop"}],
        }
    )
    response = await gateway.post("/v1/completions", json={"model": "m", "prompt": "6*7="})
    assert response.json()["choices"][0]["text"] == "42"
    assert sent_json(route)["prompt"] == "6*7="


async def test_every_response_reports_the_gateway_overhead(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    response = await gateway.post(CHAT, json=HELLO)
    assert float(response.headers["x-gateway-overhead-ms"]) >= 0
    error = await gateway.post(CHAT, content=b"{")
    assert float(error.headers["x-gateway-overhead-ms"]) >= 0


@pytest.mark.parametrize("transport_error", [httpx.ConnectError, httpx.ConnectTimeout])
async def test_an_unreachable_upstream_is_a_502_or_504(gateway, upstream, transport_error):
    upstream.post("/v1/chat/completions").mock(side_effect=transport_error("boom"))
    response = await gateway.post(CHAT, json=HELLO)
    expected = 504 if transport_error is httpx.ConnectTimeout else 502
    assert response.status_code == expected
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
