"""Relays an upstream event stream to a client, event by event, as it arrives.

One loop serves both APIs; a format object writes what the client sees: SSE
events for OpenAI clients, NDJSON lines for Ollama clients. Every stream ends
with its API's end marker or with an error in its API's shape, never a hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from time import perf_counter
from typing import Protocol

import httpx
import orjson

from routing.core.errors import GatewayError, openai_error
from routing.core.exchange import Exchange
from routing.pipeline.calls import (
    close_upstream,
    deliver,
    finish_cancelled,
    finish_error,
    finish_ok,
)
from routing.pipeline.usage import client_asked_for_usage, reported_usage, usage_counts
from routing.streams.chunks import ChunkTransformer
from routing.streams.sse import SSEEvent
from routing.streams.usage import AskedUsage, PassAll, is_usage_only, usage_chunk
from routing.upstreams.health import health

DONE = b"data: [DONE]\n\n"


class StreamFormat(Protocol):
    def chunk(self, chunk: dict) -> bytes | None: ...
    def upstream_error(self, event: SSEEvent, error: object) -> bytes: ...
    def error(self, message: str, code: str) -> bytes: ...
    async def done(self, exchange: Exchange) -> bytes: ...


def sse_data(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class SSEFormat:
    """OpenAI's stream: the (transformed) chunks as they are, then [DONE]."""

    def chunk(self, chunk: dict) -> bytes | None:
        return sse_data(chunk)

    def upstream_error(self, event: SSEEvent, error: object) -> bytes:
        return event.encode()

    def error(self, message: str, code: str) -> bytes:
        return sse_data(openai_error(message, "upstream_error", None, code))

    async def done(self, exchange: Exchange) -> bytes:
        return DONE


def has_text(chunk: dict) -> bool:
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict):
            delta = choice.get("delta")
            holder = delta if isinstance(delta, dict) else choice
            if holder.get("content") or holder.get("text") or holder.get("tool_calls"):
                return True
    return False


async def relay(
    exchange: Exchange,
    response: httpx.Response,
    events: AsyncIterator[SSEEvent],
    first: SSEEvent | None,
    out: StreamFormat,
) -> AsyncIterator[bytes]:
    """Yield the client's bytes for each upstream event; the exchange is finished here."""
    transformer = ChunkTransformer(exchange.decision.transforms, exchange.kind)
    passing = AskedUsage() if exchange.hide_usage else PassAll()
    last: dict = {}
    try:
        event = first
        while event is not None:
            if event.data.strip() == "[DONE]":
                break
            try:
                chunk = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                finish_error(exchange, "upstream sent malformed stream data", 502)
                yield deliver(
                    exchange,
                    out.error("The upstream sent malformed stream data.", "upstream_bad_response"),
                )
                return
            if isinstance(chunk, dict) and "error" in chunk:
                finish_error(exchange, str(chunk["error"])[:500], exchange.status)
                yield deliver(exchange, out.upstream_error(event, chunk["error"]))
                return
            if relay_chunk(exchange, transformer, chunk):
                last = chunk
                for ready in passing.take(chunk):
                    if (data := out.chunk(ready)) is not None:
                        yield deliver(exchange, data)
            event = await anext(events, None)
        extras = transformer.finish()
        for extra in extras:
            exchange.reply.feed_chunk(extra)
        for ready in [*passing.flush(), *extras, *await counted_usage(exchange, last)]:
            if (data := out.chunk(ready)) is not None:
                yield deliver(exchange, data)
        finish_ok(exchange)
        yield deliver(exchange, await out.done(exchange))
    except GatewayError as exc:  # the format refused what the upstream sent
        finish_error(exchange, exc)
        yield deliver(exchange, out.error(exc.message, exc.code or "upstream_error"))
    except httpx.TimeoutException:
        finish_error(exchange, "upstream went silent mid-stream", 504)
        yield deliver(
            exchange, out.error("The upstream went silent mid-stream.", "upstream_timeout")
        )
    except httpx.TransportError:
        health.failed(exchange.decision.upstream.name, "connection lost mid-stream")
        finish_error(exchange, "upstream connection lost mid-stream", 502)
        yield deliver(
            exchange,
            out.error("The upstream connection was lost mid-stream.", "upstream_disconnected"),
        )
    except (asyncio.CancelledError, GeneratorExit):
        finish_cancelled(exchange)
        raise
    finally:
        await close_upstream(exchange, response)


def relay_chunk(exchange: Exchange, transformer: ChunkTransformer, chunk: object) -> bool:
    """Note what the chunk says, transform it; False when it should not reach the client."""
    if not isinstance(chunk, dict):
        return False
    if exchange.first_token_at is None and has_text(chunk):
        exchange.first_token_at = perf_counter()
    if isinstance(chunk.get("usage"), dict):
        exchange.usage = chunk["usage"]
    if is_usage_only(chunk):
        return True
    if not transformer.apply(chunk):
        return False
    exchange.reply.feed_chunk(chunk)
    return True


async def counted_usage(exchange: Exchange, template: dict) -> list[dict]:
    """The gateway's count as a final usage chunk, for a client that asked for usage from
    an upstream that reported none."""
    if not client_asked_for_usage(exchange) or reported_usage(exchange) is not None:
        return []
    return [usage_chunk(template, *await usage_counts(exchange))]


async def replay(exchange: Exchange, chunks: list[dict], out: StreamFormat) -> AsyncIterator[bytes]:
    """A stored answer as a stream in the client's format (the cache's hits)."""
    try:
        for chunk in chunks:
            exchange.reply.feed_chunk(chunk)
            if (data := out.chunk(chunk)) is not None:
                yield deliver(exchange, data)
        finish_ok(exchange)
        yield deliver(exchange, await out.done(exchange))
    except (asyncio.CancelledError, GeneratorExit):
        finish_cancelled(exchange)
        raise
