"""Pass-through: a request forwarded as it came (only its model rewritten) to the upstream
routing picks, and the reply relayed as it arrives, whatever its type.

Keys, limits, routes, the model map, targets with fallback and health apply as for chat.
A body in hand (JSON, a small form) may go to the next target when one fails before
answering; a streamed upload goes to one. An upstream's error is relayed as it came.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from time import perf_counter

import httpx
import orjson
from django.http import HttpRequest, HttpResponse

from routing.apis.passthrough.body import Outgoing
from routing.apis.passthrough.request import is_json
from routing.core.errors import (
    PayloadTooLargeError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
    upstream_error_body,
)
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse
from routing.guard import cache
from routing.pipeline.calls import (
    close_upstream,
    deliver,
    finish_cancelled,
    finish_error,
    finish_ok,
    read_all,
)
from routing.upstreams import slots
from routing.upstreams.attempts import with_attempts
from routing.upstreams.client import build_request, client_response_headers, get_client

KEEP_LIMIT = 1024 * 1024  # JSON replies up to this are read for usage (and the cache)


class PassthroughStatusError(UpstreamStatusError):
    """A 429 or 5xx, worth another target; relayed as it came when none is left."""

    def __init__(self, status: int, content: bytes, headers: dict, content_type: str) -> None:
        super().__init__(status, upstream_error_body(status, content), headers)
        self.content = content
        self.content_type = content_type or "application/octet-stream"


def upstream_path(request: HttpRequest, path: str) -> str:
    query = request.META.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


async def open_upstream(exchange: Exchange, outgoing: Outgoing, path: str) -> httpx.Response:
    """Send to the exchange's current target; the open response holds its place there."""
    upstream = exchange.decision.upstream
    exchange.lease = await slots.acquire(upstream)
    content, length = outgoing.content(exchange.decision.model if outgoing.model else None)
    request = build_request(
        upstream,
        path,
        exchange.request_headers,
        content,
        exchange.details["method"],
        content_type=outgoing.content_type or None,
    )
    if length is not None:
        request.headers.pop("transfer-encoding", None)
        request.headers["content-length"] = str(length)
    exchange.sent_at = perf_counter()
    try:
        response = await get_client().send(request, stream=True)
    except BaseException as exc:
        exchange.lease.release()
        raise sending_error(exc, exchange, outgoing) from None
    exchange.first_byte_at = perf_counter()
    if response.status_code == 429 or response.status_code >= 500:
        content_type = response.headers.get("content-type", "")
        raw = await read_all(exchange, response)
        raise PassthroughStatusError(
            response.status_code, raw, client_response_headers(response.headers), content_type
        )
    return response


def sending_error(exc: BaseException, exchange: Exchange, outgoing: Outgoing) -> BaseException:
    """What a failed send means to the client."""
    name = exchange.decision.upstream.name
    if outgoing.stream is not None and outgoing.stream.size > outgoing.stream.limit:
        return PayloadTooLargeError(
            f"The request body is larger than the limit of {outgoing.stream.limit} bytes.",
            headers={"Connection": "close"},
        )
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeoutError(f"Upstream {name!r} did not answer in time.")
    if isinstance(exc, httpx.TransportError):
        return UpstreamUnreachableError(f"Cannot reach upstream {name!r}: {exc}")
    return exc


async def send_on(exchange: Exchange, outgoing: Outgoing, path: str) -> httpx.Response:
    """Tried on the route's targets when the body can be sent again, else once."""
    response = await with_attempts(
        exchange,
        lambda each: open_upstream(each, outgoing, path),
        None if outgoing.whole else 1,
    )
    exchange.bytes_in = outgoing.size
    return response


def relayed_error(exchange: Exchange, error: PassthroughStatusError) -> HttpResponse:
    """The last target's error status and body, as it sent them."""
    response = HttpResponse(error.content, status=error.status, content_type=error.content_type)
    for key, value in error.headers.items():
        response[key] = value
    exchange.bytes_out = len(error.content)
    if is_json(error.content_type):
        deliver(exchange, error.content)
    finish_error(exchange, error)
    return response


def end(exchange: Exchange, status: int, kept: bytearray | None) -> None:
    """Finish the row: a JSON reply gives its usage, and its copy to the cache."""
    if kept is not None:
        try:
            data = orjson.loads(kept)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            usage = data.get("usage")
            exchange.usage = usage if isinstance(usage, dict) else None
            if exchange.cache_key is not None and status == 200:
                exchange.completion = data
    if status >= 400:
        finish_error(exchange, f"upstream answered {status}", status)
    else:
        finish_ok(exchange)


async def relay_body(
    exchange: Exchange, response: httpx.Response, outgoing: Outgoing, keep: bool
) -> AsyncIterator[bytes]:
    """The reply's bytes as they come; JSON is kept for the log (and the cache)."""
    kept = bytearray() if keep else None
    try:
        async for chunk in response.aiter_bytes():
            if exchange.bytes_out == 0:
                exchange.details["first_byte_ms"] = round(
                    (perf_counter() - exchange.started) * 1000, 1
                )
            if keep:
                deliver(exchange, chunk)
            else:
                exchange.bytes_out += len(chunk)
            if kept is not None:
                kept += chunk
                kept = kept if len(kept) <= KEEP_LIMIT else None
            yield chunk
        exchange.bytes_in = outgoing.size
        end(exchange, response.status_code, kept)
    except httpx.TransportError as exc:  # the reply is cut: the client must see it broken
        finish_error(exchange, f"upstream reply cut short: {exc}", 502)
        raise
    except (asyncio.CancelledError, GeneratorExit):
        finish_cancelled(exchange)
        raise
    finally:
        await close_upstream(exchange, response)


def relay_response(
    exchange: Exchange, response: httpx.Response, outgoing: Outgoing
) -> HttpResponse:
    content_type = response.headers.get("content-type") or "application/octet-stream"
    exchange.status = response.status_code
    source = relay_body(exchange, response, outgoing, is_json(content_type))
    relayed = RelayResponse(source, status=response.status_code, content_type=content_type)
    length = response.headers.get("content-length")
    if length and "content-encoding" not in response.headers:
        relayed["Content-Length"] = length
    for key, value in {
        **client_response_headers(response.headers),
        **cache.x_cache(exchange),
    }.items():
        relayed[key] = value
    return relayed
