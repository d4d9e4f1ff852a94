"""Every request through the gateway leaves one row with the right facts."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from asgiref.sync import sync_to_async

from recording.models import RequestBody, RequestLog
from recording.writer import writer
from tests.routing.helpers import chat_reply, sent_json, sse_body, sse_response

CHAT = "/v1/chat/completions"
HELLO = {"model": "gpt-4", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def rows(recorded):
    return sync_to_async(recorded)


async def test_a_whole_reply_is_recorded_with_upstream_usage(gateway, upstream, rows):
    upstream.post("/v1/chat/completions").respond(
        json=chat_reply("Hello!", usage={"prompt_tokens": 11, "completion_tokens": 7})
    )
    response = await gateway.post(CHAT, json=HELLO)
    [row] = await rows()
    assert (row.state, row.status, row.service, row.endpoint) == ("ok", 200, "openai", CHAT)
    assert (row.model_in, row.model_out, row.upstream) == ("gpt-4", "gpt-4", "default")
    assert (row.prompt_tokens, row.completion_tokens, row.tokens_estimated) == (11, 7, False)
    assert row.stream is False and row.workflow == "default"
    assert row.bytes_in == len(json.dumps(HELLO).replace(" ", "")) or row.bytes_in > 0
    assert row.bytes_out == len(response.content)
    assert row.duration_ms > 0 and row.ttft_ms is not None
    assert str(row.id) == response.headers["x-request-id"]


async def test_a_stream_asks_upstream_for_usage_and_hides_it_from_the_client(
    gateway, upstream, rows
):
    body = sse_body(["Hel", "lo"]).replace(
        b"data: [DONE]",
        b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}'
        b"\n\ndata: [DONE]",
    )
    route = upstream.post("/v1/chat/completions").respond(
        200, content=body, headers={"content-type": "text/event-stream"}
    )
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert sent_json(route)["stream_options"] == {"include_usage": True}
    assert "usage" not in response.text
    [row] = await rows()
    assert (row.state, row.stream, row.prompt_tokens, row.completion_tokens) == ("ok", True, 5, 2)
    assert row.ttft_ms is not None and row.ttft_ms <= row.duration_ms


async def test_a_client_that_asks_for_usage_gets_it(gateway, upstream, rows):
    body = sse_body(["x"]).replace(
        b"data: [DONE]",
        b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1,'
        b'"completion_tokens":1}}\n\ndata: [DONE]',
    )
    upstream.post("/v1/chat/completions").respond(
        200, content=body, headers={"content-type": "text/event-stream"}
    )
    request = {**HELLO, "stream": True, "stream_options": {"include_usage": True}}
    response = await gateway.post(CHAT, json=request)
    assert '"usage"' in response.text


async def test_tokens_are_counted_when_the_upstream_reports_none(gateway, upstream, rows):
    upstream.post("/v1/chat/completions").mock(return_value=sse_response(["one two ", "three"]))
    await gateway.post(CHAT, json={**HELLO, "stream": True})
    [row] = await rows()
    assert row.tokens_estimated is True
    assert row.completion_tokens == 3  # "one two three" in cl100k_base
    assert row.prompt_tokens > 0


@pytest.mark.parametrize(
    ("request_body", "status"),
    [
        ({"model": "m"}, 400),
        ({"model": "m", "messages": [{"role": "user"}], "workflow_id": "../etc"}, 400),
    ],
)
async def test_refused_requests_are_recorded_as_errors(
    gateway, upstream, rows, request_body, status
):
    response = await gateway.post(CHAT, json=request_body)
    assert response.status_code == status
    [row] = await rows()
    assert (row.state, row.status) == ("error", status)
    assert row.error


async def test_upstream_errors_are_recorded(gateway, upstream, rows):
    upstream.post("/v1/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    await gateway.post(CHAT, json=HELLO)
    [row] = await rows()
    assert (row.state, row.status) == ("error", 502)
    assert "Cannot reach upstream" in row.error


async def test_a_client_that_leaves_mid_stream_is_recorded_as_cancelled_once(
    transactional_db, upstream, rows
):
    from llmproxy.asgi import application

    async def slow():
        yield sse_body(["first "]).split(b"\n\n")[0] + b"\n\n"
        await asyncio.sleep(30)

    upstream.post("/v1/chat/completions").respond(
        200, headers={"content-type": "text/event-stream"}, stream=_Stream(slow)
    )
    messages = [{"type": "http.request", "body": json.dumps({**HELLO, "stream": True}).encode()}]
    sent = []
    disconnect = asyncio.Event()

    async def receive():
        if messages:
            return messages.pop(0)
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message.get("body"):
            disconnect.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": CHAT,
        "raw_path": CHAT.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"localhost")],
        "client": ("10.0.0.9", 1),
        "server": ("localhost", 80),
    }
    await asyncio.wait_for(application(scope, receive, send), 5)
    [row] = await rows()
    assert (row.state, row.status) == ("cancelled", 499)
    assert await RequestLog.objects.acount() == 1


class _Stream(httpx.AsyncByteStream):
    def __init__(self, factory):
        self.factory = factory

    async def __aiter__(self):
        async for chunk in self.factory():
            yield chunk


async def test_bodies_are_stored_apart_compressed_and_readable(gateway, upstream, rows):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("Hello!"))
    await gateway.post(CHAT, json=HELLO)
    [row] = await rows()
    body = await RequestBody.objects.aget(pk=row.pk)
    assert json.loads(body.request_text()) == HELLO
    assert json.loads(body.response_text())["choices"][0]["message"]["content"] == "Hello!"
    assert bytes(body.request_body) != body.request_text().encode()  # compressed


async def test_nothing_is_recorded_when_logging_is_off(gateway, upstream, settings):
    settings.ENABLE_LOGGING = False
    upstream.post("/v1/chat/completions").respond(json=chat_reply("x"))
    await gateway.post(CHAT, json=HELLO)
    await sync_to_async(writer.flush)(5)
    assert await RequestLog.objects.acount() == 0


@pytest.mark.parametrize(
    ("path", "view"),
    [(CHAT, "routing.apis.openai.views"), ("/api/chat", "routing.apis.ollama.views")],
)
async def test_a_gateway_bug_answers_500_and_its_row_says_so(
    gateway, upstream, rows, monkeypatch, path, view
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(f"{view}.cache.consult", broken)
    response = await gateway.post(path, json={**HELLO, "stream": False})
    assert response.status_code == 500
    assert "a bug" not in response.text  # no internals leak to the client
    [row] = await rows()
    assert (row.state, row.status) == ("error", 500)
    assert row.error == "the gateway failed to handle this request"
