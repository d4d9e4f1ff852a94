"""The Messages API in process: credentials, native upstreams, recording, errors, counting."""

from __future__ import annotations

import json

import httpx
import respx
from asgiref.sync import sync_to_async

from recording.models import Conversation, RequestBody
from routing.models import GatewayKey, Route, Upstream
from tests.routing.helpers import chat_reply, sse_response

MESSAGES = "/v1/messages"
HELLO = {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}
ANTHROPIC = {"anthropic-version": "2023-06-01", "anthropic-beta": "tools-2024"}


async def make_key() -> str:
    key = GatewayKey(name="team")
    secret = key.issue()
    await key.asave()
    return secret


def sse_events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


async def test_a_whole_message_comes_back_in_anthropics_shape(gateway, upstream, recorded):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("Hello!"))
    response = await gateway.post(f"{MESSAGES}?beta=true", json=HELLO, headers=ANTHROPIC)
    assert response.status_code == 200
    reply = response.json()
    assert reply["type"] == "message" and reply["model"] == "m"
    assert reply["content"] == [{"type": "text", "text": "Hello!"}]
    assert reply["id"] == f"msg_{response.headers['x-request-id'].replace('-', '')}"
    sent = json.loads(route.calls.last.request.content)
    assert sent["messages"] == [{"role": "user", "content": "Hi"}] and sent["max_tokens"] == 50
    headers = route.calls.last.request.headers
    assert "anthropic-version" not in headers and "anthropic-beta" not in headers
    [row] = await sync_to_async(recorded)()
    assert (row.service, row.kind, row.endpoint) == ("anthropic", "chat", MESSAGES)
    assert (row.prompt_tokens, row.completion_tokens) == (3, 2)


async def test_the_clients_x_api_key_goes_upstream_as_a_bearer(gateway, upstream, recorded):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(MESSAGES, json=HELLO, headers={"x-api-key": "sk-client-key-1"})
    sent = route.calls.last.request.headers
    assert sent.get_list("authorization") == ["Bearer sk-client-key-1"]
    assert "x-api-key" not in sent
    await sync_to_async(recorded)()
    body = await RequestBody.objects.aget()
    assert body.headers()["x-api-key"] == "[redacted]"
    assert "sk-client-key-1" not in body.request_text() + body.response_text()


async def test_a_gateway_key_in_x_api_key_is_the_gateways(gateway, upstream, settings, recorded):
    settings.REQUIRE_GATEWAY_KEY = True
    settings.OPENAI_API_KEY = "sk-upstream-own-key"
    secret = await make_key()
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    response = await gateway.post(MESSAGES, json=HELLO, headers={"x-api-key": secret})
    assert response.status_code == 200
    sent = route.calls.last.request
    assert sent.headers.get_list("authorization") == ["Bearer sk-upstream-own-key"]
    assert secret not in str(sent.headers) and secret not in sent.content.decode()
    [row] = await sync_to_async(recorded)()
    assert row.gateway_key == "team"


async def test_no_gateway_key_is_forwarded_whichever_header_carries_it(gateway, upstream):
    secret = await make_key()
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    headers = {"x-gateway-key": secret, "authorization": f"Bearer {secret}", "x-api-key": secret}
    assert (await gateway.post(MESSAGES, json=HELLO, headers=headers)).status_code == 200
    assert secret not in str(route.calls.last.request.headers)


async def test_a_wrong_or_missing_key_is_an_authentication_error(gateway, upstream, settings):
    settings.REQUIRE_GATEWAY_KEY = True
    for headers in ({}, {"x-api-key": "llmp_wrong"}):
        response = await gateway.post(MESSAGES, json=HELLO, headers=headers)
        assert response.status_code == 401
        assert response.json()["type"] == "error"
        assert response.json()["error"]["type"] == "authentication_error"


async def native(base: str = "http://claude.test", key: str = "") -> None:
    cloud = await Upstream.objects.acreate(
        name="cloud", base_url=base, api="anthropic", api_key=key
    )
    await Route.objects.acreate(match_model="m", upstream=cloud, rewrite_model="claude-real")


async def test_a_native_upstream_gets_the_request_untranslated(gateway, upstream, recorded):
    await native(key="sk-ant-own")
    message = {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": "claude-real",
        "content": [{"type": "text", "text": "From Claude."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 9, "output_tokens": 4},
    }
    body = {
        **HELLO,
        "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
    }
    with respx.mock as mock:
        route = mock.post("http://claude.test/v1/messages").respond(json=message)
        response = await gateway.post(MESSAGES, json=body, headers=ANTHROPIC)
    assert response.json() == message
    sent = route.calls.last.request
    assert json.loads(sent.content) == {**body, "model": "claude-real"}
    assert sent.headers["x-api-key"] == "sk-ant-own" and "authorization" not in sent.headers
    assert sent.headers["anthropic-beta"] == "tools-2024"
    [row] = await sync_to_async(recorded)()
    assert (row.prompt_tokens, row.completion_tokens) == (9, 4)
    conversation = await Conversation.objects.aget()
    assert conversation.messages[-1] == {"role": "assistant", "content": "From Claude."}


async def test_a_native_stream_is_relayed_as_it_is(gateway, upstream, recorded):
    await native()
    events = [
        {"type": "message_start", "message": {"id": "msg_up", "usage": {"input_tokens": 7}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Yo"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    with respx.mock as mock:
        mock.post("http://claude.test/v1/messages").respond(
            content=raw.encode(), headers={"content-type": "text/event-stream"}
        )
        response = await gateway.post(MESSAGES, json={**HELLO, "stream": True})
    assert sse_events(response.text) == events
    [row] = await sync_to_async(recorded)()
    assert (row.prompt_tokens, row.completion_tokens, row.state) == (7, 2, "ok")
    assert row.ttft_ms is not None


async def test_a_native_upstream_counts_tokens_itself(gateway, upstream):
    await native()
    with respx.mock as mock:
        mock.post("http://claude.test/v1/messages/count_tokens").respond(json={"input_tokens": 77})
        response = await gateway.post(f"{MESSAGES}/count_tokens", json=HELLO)
    assert response.json() == {"input_tokens": 77}


async def test_count_tokens_counts_system_messages_and_tools(gateway, upstream):
    async def count(**extra) -> int:
        body = {"model": "m", "messages": [{"role": "user", "content": "Hello there"}], **extra}
        response = await gateway.post(f"{MESSAGES}/count_tokens", json=body)
        assert response.status_code == 200
        return response.json()["input_tokens"]

    bare = await count()
    with_system = await count(system="You are a careful assistant who checks every answer.")
    tool = {
        "name": "Bash",
        "description": "Run a shell command",
        "input_schema": {"type": "object"},
    }
    with_tools = await count(tools=[tool])
    assert 0 < bare < with_system and bare < with_tools
    longer = await count(messages=[{"role": "user", "content": "Hello there " * 50}])
    assert longer > bare + 50


async def test_errors_have_anthropics_types(gateway, upstream, settings):
    bad = await gateway.post(MESSAGES, json={"model": "m", "messages": []})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert (await gateway.post(MESSAGES, content=b"{nope")).json()["type"] == "error"
    upstream.post("/v1/chat/completions").mock(
        return_value=httpx.Response(
            429, json={"error": {"message": "slow"}}, headers={"retry-after": "3"}
        )
    )
    limited = await gateway.post(MESSAGES, json=HELLO)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow"},
    }


async def test_a_full_upstream_queue_is_overloaded(gateway, upstream, settings):
    settings.UPSTREAM_MAX_CONNECTIONS = 1
    settings.QUEUE_TIMEOUT = 0
    settings.MAX_ATTEMPTS = 1
    from routing.upstreams import slots

    blocker = await slots.acquire(await current_default())
    try:
        response = await gateway.post(MESSAGES, json=HELLO)
    finally:
        blocker.release()
    assert response.status_code == 529
    assert response.json()["error"]["type"] == "overloaded_error"


async def current_default():
    from routing.config.current import current_rules

    return (await current_rules()).default_upstream


async def test_a_cached_answer_is_replayed_as_messages(gateway, upstream, settings):
    settings.CACHE_ENABLED = True
    upstream.post("/v1/chat/completions").mock(
        side_effect=[sse_response(["Once ", "only."]), httpx.Response(500)]
    )
    body = {**HELLO, "stream": True}
    first = await gateway.post(MESSAGES, json=body)
    from routing.guard.cache_store import store

    await sync_to_async(store.flush)()
    again = await gateway.post(MESSAGES, json=body)
    assert again.headers["x-cache"] == "HIT"
    text = "".join(
        e["delta"].get("text", "")
        for e in sse_events(again.text)
        if e["type"] == "content_block_delta"
    )
    assert text == "Once only." and first.status_code == 200
    whole = await gateway.post(MESSAGES, json=HELLO)
    assert whole.json()["content"] == [{"type": "text", "text": "Once only."}]


async def test_every_status_has_its_anthropic_type(gateway, upstream, settings):
    settings.MAX_ATTEMPTS = 1
    for status, kind in [
        (400, "invalid_request_error"),
        (404, "not_found_error"),
        (500, "api_error"),
        (502, "api_error"),
        (504, "api_error"),
    ]:
        upstream.post("/v1/chat/completions").mock(
            return_value=httpx.Response(status, json={"error": {"message": f"fake {status}"}})
        )
        response = await gateway.post(MESSAGES, json=HELLO)
        assert response.status_code == status
        assert response.json()["error"] == {"type": kind, "message": f"fake {status}"}


async def test_a_key_limited_to_other_models_gets_a_permission_error(gateway, upstream):
    key = GatewayKey(name="narrow", allowed_models="other")
    secret = key.issue()
    await key.asave()
    response = await gateway.post(MESSAGES, json=HELLO, headers={"x-api-key": secret})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


async def test_a_body_over_the_limit_is_request_too_large(gateway, upstream, settings):
    settings.MAX_REQUEST_BYTES = 2048
    body = {**HELLO, "messages": [{"role": "user", "content": "x" * 4000}]}
    response = await gateway.post(MESSAGES, json=body)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


async def test_a_failure_mid_stream_ends_with_an_error_event(gateway, upstream):
    head = sse_response(["Hello "]).content.split(b"data: [DONE]")[0]
    upstream.post("/v1/chat/completions").respond(
        content=head.replace(b'"stop"', b"null") + b"data: {broken\n\n",
        headers={"content-type": "text/event-stream"},
    )
    response = await gateway.post(MESSAGES, json={**HELLO, "stream": True})
    events = sse_events(response.text)
    assert events[0]["type"] == "message_start"
    assert events[-1] == {
        "type": "error",
        "error": {"type": "api_error", "message": "The upstream sent malformed stream data."},
    }


async def test_callers_with_different_x_api_keys_never_share_cached_answers(
    gateway, upstream, settings
):
    settings.CACHE_ENABLED = True
    upstream.post("/v1/chat/completions").mock(
        side_effect=[
            httpx.Response(200, json=chat_reply("for A")),
            httpx.Response(200, json=chat_reply("for B")),
        ]
    )
    from routing.guard.cache_store import store

    first = await gateway.post(MESSAGES, json=HELLO, headers={"x-api-key": "sk-caller-a-0001"})
    await sync_to_async(store.flush)()
    other = await gateway.post(MESSAGES, json=HELLO, headers={"x-api-key": "sk-caller-b-0002"})
    assert first.json()["content"][0]["text"] == "for A"
    assert other.json()["content"][0]["text"] == "for B"
    assert other.headers["x-cache"] == "MISS"
