"""Usage for clients that asked for it (counted by the gateway when the upstream reports
none), and what the upstream sends unasked passed on: only what the gateway's own request
for usage added is taken out."""

from __future__ import annotations

import json

import httpx
from asgiref.sync import sync_to_async

from tests.routing.helpers import chat_reply, sse_contents

CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
ASK = {"model": "m", "messages": [{"role": "user", "content": "Count my words please"}]}
BASE = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
TIMINGS = {"prompt_n": 20, "predicted_n": 5, "predicted_ms": 0.6}


def sse(*events: dict) -> httpx.Response:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})


def delta(content: str, finish: str | None = None, **extra) -> dict:
    choice = {"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}
    return {**BASE, "choices": [choice], **extra}


def usage_only(**extra) -> dict:
    usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    return {**BASE, "choices": [], "usage": usage, **extra}


def events_of(response: httpx.Response) -> list[dict]:
    return sse_contents(response.text)[1]


async def test_a_client_asking_for_usage_gets_the_gateways_count_when_the_upstream_has_none(
    gateway, upstream, recorded
):
    upstream.post(CHAT).mock(return_value=sse(delta("Five "), delta("words", "stop")))
    body = {**ASK, "stream": True, "stream_options": {"include_usage": True}}
    response = await gateway.post(CHAT, json=body)
    events = events_of(response)
    assert sse_contents(response.text)[0] == "Five words"
    assert len(events) == 3 and events[1]["choices"][0]["finish_reason"] == "stop"
    final = events[-1]
    assert final["choices"] == [] and (final["id"], final["model"]) == ("c", "m")
    usage = final["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] == 2
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    row = (await sync_to_async(recorded)())[0]
    assert (row.prompt_tokens, row.completion_tokens) == (usage["prompt_tokens"], 2)
    assert row.tokens_estimated


async def test_the_upstreams_own_usage_reaches_a_client_that_asked_once(gateway, upstream):
    upstream.post(CHAT).mock(return_value=sse(delta("Hi", "stop"), usage_only()))
    body = {**ASK, "stream": True, "stream_options": {"include_usage": True}}
    events = events_of(await gateway.post(CHAT, json=body))
    assert [e.get("usage") for e in events] == [None, events[-1]["usage"]]
    assert events[-1]["usage"]["total_tokens"] == 25


async def test_a_whole_reply_without_usage_gets_the_gateways_count(gateway, upstream, recorded):
    reply = chat_reply("two words")
    del reply["usage"]
    upstream.post(CHAT).respond(json=reply)
    usage = (await gateway.post(CHAT, json=ASK)).json()["usage"]
    assert usage["completion_tokens"] == 2 and usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + 2
    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert (await sync_to_async(recorded)())[0].tokens_estimated


async def test_a_whole_reply_keeps_the_upstreams_usage(gateway, upstream, recorded):
    upstream.post(CHAT).respond(json=chat_reply("two words"))
    response = await gateway.post(CHAT, json=ASK)
    assert response.json()["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
    }
    assert not (await sync_to_async(recorded)())[0].tokens_estimated


async def test_fields_on_the_usage_chunk_move_to_the_last_chunk_of_a_client_that_did_not_ask(
    gateway, upstream, recorded
):
    # llama.cpp's server: `timings` on the final chunk, or on the usage chunk when asked
    route = upstream.post(CHAT)
    route.mock(return_value=sse(delta("Hi"), delta("", "stop"), usage_only(timings=TIMINGS)))
    events = events_of(await gateway.post(CHAT, json={**ASK, "stream": True}))
    assert json.loads(route.calls.last.request.content)["stream_options"] == {"include_usage": True}
    assert len(events) == 2
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["timings"] == TIMINGS
    assert not any("usage" in e for e in events)
    row = (await sync_to_async(recorded)())[0]
    assert (row.prompt_tokens, row.completion_tokens, row.tokens_estimated) == (20, 5, False)


async def test_usage_null_on_every_chunk_is_not_shown_to_a_client_that_did_not_ask(
    gateway, upstream
):
    upstream.post(CHAT).mock(
        return_value=sse(delta("Hi", usage=None), delta("", "stop", usage=None), usage_only())
    )
    events = events_of(await gateway.post(CHAT, json={**ASK, "stream": True}))
    assert len(events) == 2 and not any("usage" in e for e in events)


async def test_usage_a_completions_stream_sends_unasked_reaches_the_client(gateway, upstream):
    final = {
        "id": "t",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "text": "", "finish_reason": "length", "logprobs": None}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
        "timings": TIMINGS,
    }
    first = {**final, "choices": [{"index": 0, "text": "abc", "finish_reason": None}]}
    del first["usage"], first["timings"]
    upstream.post(TEXT).mock(return_value=sse(first, final))
    response = await gateway.post(TEXT, json={"model": "m", "prompt": "hi", "stream": True})
    events = events_of(response)
    assert events[-1] == final


async def test_a_text_stream_asking_for_usage_gets_a_text_completion_usage_chunk(gateway, upstream):
    chunk = {
        "id": "t",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "text": "one two", "finish_reason": "stop"}],
    }
    upstream.post(TEXT).mock(return_value=sse(chunk))
    body = {"model": "m", "prompt": "hi", "stream": True, "stream_options": {"include_usage": True}}
    events = events_of(await gateway.post(TEXT, json=body))
    assert events[-1]["object"] == "text_completion" and events[-1]["choices"] == []
    assert events[-1]["usage"]["completion_tokens"] == 2
