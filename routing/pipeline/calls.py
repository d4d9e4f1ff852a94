"""The request path after intake: send -> transform -> hand back (and report).

Views turn a client request into an Exchange (routing.intake), then call
`complete` (whole reply) or `open_stream` (first event read, rest relayed as it
arrives), and end with one of the `finish_*` calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from time import perf_counter

import httpx
import orjson
from django.conf import settings

from routing.core import hooks
from routing.core.errors import (
    GatewayError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
    upstream_error_body,
)
from routing.core.exchange import CANCELLED, EMBEDDINGS, ERROR, OK, Exchange
from routing.core.redaction import redact_json
from routing.streams.chunks import CHAT, transform_completion
from routing.streams.sse import SSEDecoder, SSEEvent
from routing.upstreams import slots
from routing.upstreams.attempts import with_attempts
from routing.upstreams.client import build_request, client_response_headers, get_client

log = logging.getLogger(__name__)

UPSTREAM_PATHS = {
    CHAT: "/v1/chat/completions",
    "text": "/v1/completions",
    EMBEDDINGS: "/v1/embeddings",
}
# Builds the request for the exchange's current target when it is not the usual one (a
# front door whose API that upstream speaks natively); None: the usual one.
Builder = Callable[[Exchange], httpx.Request | None]


async def send(exchange: Exchange, build: Builder | None = None) -> httpx.Response:
    """Send to the exchange's current upstream; the open response (status < 400) holds a
    place in that upstream's queue until close_upstream()."""
    upstream = exchange.decision.upstream
    outgoing = build(exchange) if build is not None else None
    if outgoing is None:
        outgoing = build_request(
            upstream,
            exchange.upstream_path or UPSTREAM_PATHS[exchange.kind],
            exchange.request_headers,
            orjson.dumps(exchange.body),
        )
    exchange.lease = await slots.acquire(upstream)
    exchange.sent_at = perf_counter()
    try:
        response = await get_client().send(outgoing, stream=True)
    except httpx.TimeoutException:
        exchange.lease.release()
        raise UpstreamTimeoutError(f"Upstream {upstream.name!r} did not answer in time.") from None
    except httpx.TransportError as exc:
        exchange.lease.release()
        raise UpstreamUnreachableError(f"Cannot reach upstream {upstream.name!r}: {exc}") from None
    except BaseException:  # cancelled while connecting: give the place back
        exchange.lease.release()
        raise
    if response.status_code >= 400:
        content = await read_all(exchange, response)
        # Passed on to the client, without the server's own keys an upstream may echo.
        server_keys = [k for k in (upstream.api_key, settings.OPENAI_API_KEY) if k]
        raise UpstreamStatusError(
            response.status_code,
            redact_json(upstream_error_body(response.status_code, content), server_keys),
            client_response_headers(response.headers),
        )
    return response


async def close_upstream(exchange: Exchange, response: httpx.Response) -> None:
    try:
        await response.aclose()
    finally:
        if exchange.lease is not None:
            exchange.lease.release()


async def read_all(exchange: Exchange, response: httpx.Response) -> bytearray:
    """The whole body in one buffer, filled as it arrives (allocated once from Content-Length
    when given): a large reply exists once in memory, not as pieces plus their join. The
    upstream is released however it ends."""
    length = response.headers.get("content-length", "")
    buffer = bytearray(int(length)) if length.isdigit() else bytearray()
    filled = 0
    try:
        async for chunk in response.aiter_bytes():
            end = filled + len(chunk)
            if end <= len(buffer):
                buffer[filled:end] = chunk  # same length: copied in place
            else:
                del buffer[filled:]
                buffer += chunk
            filled = end
    except httpx.TimeoutException:
        raise UpstreamTimeoutError("The upstream stopped answering mid-reply.") from None
    except httpx.TransportError as exc:
        raise UpstreamUnreachableError(f"The upstream connection broke: {exc}") from None
    finally:
        await close_upstream(exchange, response)
        exchange.first_byte_at = exchange.first_byte_at or perf_counter()
    del buffer[filled:]
    return buffer


async def _complete_once(
    exchange: Exchange, build: Builder | None = None
) -> tuple[dict, httpx.Response]:
    response = await send(exchange, build)
    content = await read_all(exchange, response)
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UpstreamUnreachableError(
            "The upstream answered with something that is not JSON.", code="upstream_bad_response"
        ) from None
    if not isinstance(data, dict):
        raise UpstreamUnreachableError(
            "The upstream answered with unexpected JSON.", code="upstream_bad_response"
        )
    return data, response


async def complete(exchange: Exchange, build: Builder | None = None) -> tuple[dict, httpx.Response]:
    """The whole reply, transformed (tried on the route's targets as attempts allow); the
    upstream response is returned for its headers."""
    data, response = await with_attempts(exchange, lambda e: _complete_once(e, build))
    transform_completion(data, exchange.decision.transforms, exchange.kind)
    exchange.first_token_at = exchange.first_byte_at
    exchange.usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    exchange.status = response.status_code
    exchange.reply.feed_completion(data)
    return data, response


async def iter_events(response: httpx.Response) -> AsyncIterator[SSEEvent]:
    decoder = SSEDecoder()
    async for chunk in response.aiter_bytes():
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event


async def _open_stream_once(
    exchange: Exchange, build: Builder | None = None
) -> tuple[httpx.Response, AsyncIterator[SSEEvent], SSEEvent | None]:
    response = await send(exchange, build)
    if "text/event-stream" not in response.headers.get("content-type", ""):
        await read_all(exchange, response)
        raise UpstreamUnreachableError(
            "The upstream did not answer with an event stream.", code="upstream_bad_response"
        )
    events = iter_events(response)
    try:
        first = await anext(events, None)
    except httpx.TimeoutException:
        await close_upstream(exchange, response)
        raise UpstreamTimeoutError("The upstream sent no event in time.") from None
    except httpx.TransportError as exc:
        await close_upstream(exchange, response)
        raise UpstreamUnreachableError(
            f"The upstream broke before its first event: {exc}"
        ) from None
    except BaseException:
        await close_upstream(exchange, response)
        raise
    return response, events, first


async def open_stream(
    exchange: Exchange, build: Builder | None = None
) -> tuple[httpx.Response, AsyncIterator[SSEEvent], SSEEvent | None]:
    """Send, and read up to the first event, so that failures still get a proper status
    and can move on to another target; from there on the stream is the client's."""
    result = await with_attempts(exchange, lambda e: _open_stream_once(e, build))
    exchange.first_byte_at = perf_counter()
    exchange.status = result[0].status_code
    return result


def deliver(exchange: Exchange, data: bytes) -> bytes:
    """Count (and keep for the log) bytes on their way to the client."""
    return exchange.deliver(data, settings.ENABLE_LOGGING, settings.MAX_BODY_LOG_BYTES)


def finish_ok(exchange: Exchange) -> None:
    exchange.finish(OK)
    hooks.announce_finished(exchange)


def finish_error(exchange: Exchange, error: GatewayError | str, status: int | None = None) -> None:
    if isinstance(error, GatewayError):
        exchange.finish(ERROR, error.status, error.message)
    else:
        exchange.finish(ERROR, status, error)
    hooks.announce_finished(exchange)


def finish_cancelled(exchange: Exchange) -> None:
    exchange.finish(CANCELLED, 499, "client disconnected")
    hooks.announce_finished(exchange)


@contextmanager
def row_finished_on_failure(exchange: Exchange) -> Iterator[None]:
    """However a view fails, the request's row ends: as the error sent, as a client gone,
    or (a gateway bug, answered 500) as that."""
    try:
        yield
    except GatewayError as exc:
        finish_error(exchange, exc)
        raise
    except asyncio.CancelledError:
        finish_cancelled(exchange)
        raise
    except Exception:
        if exchange.finished_at is None:
            finish_error(exchange, "the gateway failed to handle this request", 500)
        raise
