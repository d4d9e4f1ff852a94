"""The response cache: hits, misses, isolation by caller, bypass, expiry, stream replay."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from routing.guard import cache
from routing.models import CachedResponse, Route
from tests.routing.helpers import chat_reply, sse_contents, sse_response

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def cached(settings, recorded):
    settings.CACHE_ENABLED = True

    def flush():
        recorded(0)  # waits for the writers, the cache's included

    return sync_to_async(flush)


async def test_the_second_identical_request_is_a_hit_without_the_upstream(
    gateway, upstream, cached, recorded
):
    route = upstream.post(CHAT).respond(json=chat_reply("first answer"))
    first = await gateway.post(CHAT, json=HELLO)
    await cached()
    second = await gateway.post(CHAT, json={"messages": HELLO["messages"], "model": "m"})
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.json()["choices"][0]["message"]["content"] == "first answer"
    assert route.call_count == 1
    rows = await sync_to_async(recorded)(2)
    assert [r.cache_hit for r in rows] == [True, False]
    assert (await CachedResponse.objects.aget()).hits == 1


async def test_key_order_does_not_matter_but_content_does(gateway, upstream, cached):
    route = upstream.post(CHAT).respond(json=chat_reply("x"))
    await gateway.post(CHAT, json={"model": "m", "temperature": 0.5, **HELLO})
    await cached()
    await gateway.post(CHAT, json={"temperature": 0.5, **HELLO})
    await gateway.post(CHAT, json={**HELLO, "temperature": 0.6})
    assert route.call_count == 2


async def test_one_caller_never_gets_another_callers_answer(gateway, upstream, cached):
    upstream.post(CHAT).mock(
        side_effect=[
            httpx.Response(200, json=chat_reply("for alice")),
            httpx.Response(200, json=chat_reply("for bob")),
        ]
    )
    alice = {"Authorization": "Bearer sk-alice-000000"}
    bob = {"Authorization": "Bearer sk-bob-1111111"}
    await gateway.post(CHAT, json=HELLO, headers=alice)
    await cached()
    answer = await gateway.post(CHAT, json=HELLO, headers=bob)
    assert answer.json()["choices"][0]["message"]["content"] == "for bob"
    assert answer.headers["x-cache"] == "MISS"


async def test_no_cache_from_the_client_bypasses_the_cache(gateway, upstream, cached):
    route = upstream.post(CHAT).respond(json=chat_reply("x"))
    await gateway.post(CHAT, json=HELLO)
    await cached()
    response = await gateway.post(CHAT, json=HELLO, headers={"Cache-Control": "no-cache"})
    assert response.headers.get("x-cache") is None
    assert route.call_count == 2


async def test_expired_entries_are_not_served(gateway, upstream, cached, settings):
    settings.CACHE_TTL = 1
    route = upstream.post(CHAT).respond(json=chat_reply("x"))
    await gateway.post(CHAT, json=HELLO)
    await cached()
    assert (await gateway.post(CHAT, json=HELLO)).headers["x-cache"] == "HIT"
    await asyncio.sleep(1.1)
    assert (await gateway.post(CHAT, json=HELLO)).headers["x-cache"] == "MISS"
    assert route.call_count == 2


async def test_another_process_finds_the_answer_in_the_table(gateway, upstream, cached):
    route = upstream.post(CHAT).respond(json=chat_reply("shared"))
    await gateway.post(CHAT, json=HELLO)
    await cached()
    cache.recent.items.clear()  # as if this were another process, or another node
    hit = await gateway.post(CHAT, json=HELLO)
    assert hit.headers["x-cache"] == "HIT" and route.call_count == 1
    assert hit.json()["choices"][0]["message"]["content"] == "shared"
    await CachedResponse.objects.aupdate(expires_at=timezone.now() - timedelta(seconds=1))
    cache.recent.items.clear()
    assert (await gateway.post(CHAT, json=HELLO)).headers["x-cache"] == "MISS"


async def test_a_cached_answer_is_replayed_as_a_well_formed_stream(gateway, upstream, cached):
    upstream.post(CHAT).respond(json=chat_reply("Hello from the cache"))
    await gateway.post(CHAT, json=HELLO)
    await cached()
    replayed = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert replayed.headers["x-cache"] == "HIT"
    assert replayed.headers["content-type"].startswith("text/event-stream")
    content, events = sse_contents(replayed.text)
    assert content == "Hello from the cache"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert replayed.text.rstrip().endswith("data: [DONE]")


async def test_a_streamed_answer_is_cached_and_served_whole_and_as_ndjson(
    gateway, upstream, cached
):
    route = upstream.post(CHAT).mock(return_value=sse_response(["Str", "eamed"]))
    await gateway.post(CHAT, json={**HELLO, "stream": True})
    await cached()
    whole = await gateway.post(CHAT, json=HELLO)
    assert whole.json()["choices"][0]["message"]["content"] == "Streamed"
    assert route.call_count == 1
    ollama = {"model": "m", "messages": HELLO["messages"]}
    first = await gateway.post("/api/chat", json=ollama)  # another path: its own entry
    await cached()
    again = await gateway.post("/api/chat", json=ollama)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
    lines = [json.loads(x) for x in again.text.splitlines()]
    assert "".join(x["message"]["content"] for x in lines) == "Streamed"
    assert lines[-1]["done"] is True


async def test_tool_call_answers_are_cached_only_when_the_route_says_so(gateway, upstream, cached):
    reply = chat_reply("")
    reply["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    route = upstream.post(CHAT).respond(json=reply)
    await gateway.post(CHAT, json=HELLO)
    await cached()
    await gateway.post(CHAT, json=HELLO)
    assert route.call_count == 2
    await Route.objects.acreate(match_model="m", cache_tool_calls=True)
    await gateway.post(CHAT, json=HELLO)
    await cached()
    hit = await gateway.post(CHAT, json=HELLO)
    assert hit.headers["x-cache"] == "HIT"
    assert hit.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "f"


async def test_errors_are_never_cached(gateway, upstream, cached):
    route = upstream.post(CHAT).respond(400, json={"error": {"message": "bad"}})
    await gateway.post(CHAT, json=HELLO)
    await cached()
    await gateway.post(CHAT, json=HELLO)
    assert route.call_count == 2
    assert await CachedResponse.objects.acount() == 0


async def test_a_route_can_switch_the_cache_on_by_itself(gateway, upstream, settings, recorded):
    settings.CACHE_ENABLED = False
    await Route.objects.acreate(match_model="m", cache=True)
    route = upstream.post(CHAT).respond(json=chat_reply("x"))
    await gateway.post(CHAT, json=HELLO)
    await sync_to_async(recorded)(0)
    assert (await gateway.post(CHAT, json=HELLO)).headers["x-cache"] == "HIT"
    assert route.call_count == 1


def answer_with_what_was_seen(request: httpx.Request) -> httpx.Response:
    """An upstream whose answer depends on the credentials it was sent."""
    seen = {k: v for k, v in request.headers.items() if k not in ("content-length", "host")}
    return httpx.Response(200, json=chat_reply(json.dumps(seen, sort_keys=True)))


@pytest.mark.parametrize(
    "header",
    [
        "X-Api-Key",
        "Api-Key",
        "OpenAI-Organization",
        "OpenAI-Project",
        "X-Goog-Api-Key",
        "X-Auth-Token",
        "X-Forwarded-For",
    ],
)
async def test_callers_differing_only_in_a_credential_header_never_share_answers(
    gateway, upstream, cached, header
):
    route = upstream.post(CHAT).mock(side_effect=answer_with_what_was_seen)
    first = await gateway.post(CHAT, json=HELLO, headers={header: "caller-a-0123456789"})
    await cached()
    second = await gateway.post(CHAT, json=HELLO, headers={header: "caller-b-0123456789"})
    assert second.headers["x-cache"] == "MISS" and route.call_count == 2
    assert "caller-a" not in second.text
    again = await gateway.post(CHAT, json=HELLO, headers={header: "caller-a-0123456789"})
    assert again.headers["x-cache"] == "HIT" and route.call_count == 2
    assert first.status_code == 200


async def test_callers_with_one_gateway_key_but_other_upstream_keys_never_share_answers(
    gateway, upstream, cached
):
    from routing.models import GatewayKey

    key = GatewayKey(name="shared")
    secret = key.issue()
    await key.asave()
    route = upstream.post(CHAT).mock(side_effect=answer_with_what_was_seen)
    for own in ("sk-alice-0123456789", "sk-bob-0123456789"):
        headers = {"X-Gateway-Key": secret, "Authorization": f"Bearer {own}"}
        response = await gateway.post(CHAT, json=HELLO, headers=headers)
        assert response.headers["x-cache"] == "MISS"
        await cached()
    assert route.call_count == 2
