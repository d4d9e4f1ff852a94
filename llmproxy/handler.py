"""A lean ASGI handler for the proxy endpoints.

Django's full handler runs the middleware stack (partly in a worker thread) and
the request signals on every call; the proxy endpoints need none of it. This
handler reads the body with a size cap, resolves the URL, runs the ninja view,
and streams the response, cancelling the view when the client goes away.
Pages and the admin keep Django's full handler.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from contextlib import aclosing

import orjson
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.urls import Resolver404, get_resolver

from llmproxy import crossorigin
from llmproxy.crossorigin import Refusal
from llmproxy.error_shapes import error_body
from routing.core.body import STREAMED_BODY, BodyStream
from routing.core.responses import RelayResponse

log = logging.getLogger(__name__)

BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


async def send_json(send, status: int, body: dict, headers: list | None = None) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *BASE_HEADERS,
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class TooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


def body_limit(scope: dict, streamed: bool) -> int:
    """MAX_REQUEST_BYTES, except for streamed uploads that are not JSON (MAX_UPLOAD_BYTES)."""
    if not streamed:
        return settings.MAX_REQUEST_BYTES
    for name, value in scope["headers"]:
        if name == b"content-type" and b"json" in value.lower():
            return settings.MAX_REQUEST_BYTES
    return settings.MAX_UPLOAD_BYTES


def check_length(scope: dict, limit: int) -> None:
    """Refuse at once a body announced larger than the limit."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise TooLarge


async def read_body(scope: dict, receive) -> bytes:
    limit = settings.MAX_REQUEST_BYTES
    check_length(scope, limit)
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def response_headers(response: HttpResponse) -> list[tuple[bytes, bytes]]:
    headers = [(k.encode("ascii"), v.encode("latin1")) for k, v in response.items()]
    headers.extend(
        (b"set-cookie", c.OutputString().encode("ascii")) for c in response.cookies.values()
    )
    return headers + BASE_HEADERS


async def send_response(response: HttpResponse, send) -> None:
    headers = response_headers(response)
    if not response.streaming:
        content = response.content
        headers.append((b"content-length", str(len(content)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})
        return
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    relayed = isinstance(response, RelayResponse)
    source = response.source if relayed else aiter(response)
    heartbeat = response.heartbeat if relayed else None
    last, beat = [0.0], None
    try:
        async with aclosing(source) as chunks:
            async for chunk in chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    last[0] = time.monotonic()
                    if heartbeat and beat is None:  # after the first chunk: it opens the stream
                        beat = asyncio.create_task(keep_alive(send, *heartbeat, last))
    finally:
        if beat is not None:
            beat.cancel()
    await send({"type": "http.response.body", "body": b""})


async def keep_alive(send, seconds: float, payload: bytes, last: list[float]) -> None:
    """Send `payload` whenever nothing was sent for `seconds` (last[0]: the latest send)."""
    while True:
        wait = last[0] + seconds - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
            continue
        await send({"type": "http.response.body", "body": payload, "more_body": True})
        last[0] = time.monotonic()


async def watch_disconnect(
    receive, task: asyncio.Task, state: dict, body: BodyStream | None = None
) -> None:
    """Cancel the view when the client leaves; meanwhile pass a streamed body on to it."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if not state["done"]:
                state["disconnected"] = True
                task.cancel()
            return
        if body is not None and message["type"] == "http.request":
            more = message.get("more_body", False)
            await body.put(message.get("body", b""), more)
            body = body if more else None


async def refuse_too_large(scope: dict, send, limit: int) -> None:
    message = f"The request body is larger than the limit of {limit} bytes."
    body_json = error_body(scope["path"], message, "request_too_large")
    await send_json(send, 413, body_json, [(b"connection", b"close")])


async def send_refusal(scope: dict, send, refusal: Refusal, headers: list | None = None) -> None:
    """Answer with `refusal` in the path's error shape; the connection is not kept (the body,
    if any, is left unread)."""
    body = error_body(scope["path"], refusal.message, refusal.code, refusal.kind)
    await send_json(send, refusal.status, body, [(b"connection", b"close"), *(headers or [])])


def with_headers(send, extra: list[tuple[bytes, bytes]]):
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return sending


async def screen(scope: dict, send) -> bool:
    """Refuse what may not go on and answer CORS preflights; True when answered here."""
    if refusal := crossorigin.refusal(scope):
        await send_refusal(scope, send, refusal)
        return True
    if crossorigin.is_preflight(scope):
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [*BASE_HEADERS, *crossorigin.preflight_headers(scope)],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True
    return False


async def handle(scope: dict, receive, send) -> None:
    if await screen(scope, send):
        return
    if cors := crossorigin.cors_headers(scope):
        send = with_headers(send, cors)
    path, root = scope["path"], scope.get("root_path", "")
    try:
        match = get_resolver().resolve(path[len(root) :] if path.startswith(root) else path)
    except Resolver404:
        error = error_body(scope["path"], f"Unknown endpoint {scope['path']}.", "not_found")
        await send_json(send, 404, error)
        return
    streamed = match.url_name == STREAMED_BODY
    limit = body_limit(scope, streamed)
    stream = BodyStream(limit) if streamed else None
    try:
        if streamed:
            check_length(scope, limit)
            body = b""
        else:
            body = await read_body(scope, receive)
    except Disconnected:
        return
    except TooLarge:
        await refuse_too_large(scope, send, limit)
        return
    request = ASGIRequest(scope, io.BytesIO(body))
    # Read already, and bounded by our own limits: Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    # (2.5 MB) must not refuse it again. A streamed body is the view's to read.
    request._body = body
    scope["llmproxy.body"] = stream
    state = {"done": False, "disconnected": False}
    task = asyncio.current_task()
    watcher = asyncio.create_task(watch_disconnect(receive, task, state, stream))
    try:
        response = await match.func(request, *match.args, **match.kwargs)
        await send_response(response, send)
    except asyncio.CancelledError:
        if not state["disconnected"]:
            raise
        task.uncancel()  # the client left: nothing more to send, and nobody to tell
    except Exception:
        log.exception("unhandled error on %s", request.path)
        if not scope.get("llmproxy.response_started"):
            body_json = error_body(request.path, "The gateway failed.", "server_error")
            await send_json(send, 500, body_json)
    finally:
        state["done"] = True
        watcher.cancel()
