"""Relays an upstream event stream to an OpenAI client, event by event, as it arrives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from time import perf_counter

import httpx
import orjson

from routing.chunks import ChunkTransformer
from routing.errors import openai_error
from routing.exchange import Exchange
from routing.pipeline import deliver, finish_cancelled, finish_error, finish_ok
from routing.sse import SSEEvent

DONE = b"data: [DONE]\n\n"


def sse_data(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def error_event(message: str, code: str) -> bytes:
    return sse_data(openai_error(message, "upstream_error", None, code))


def has_text(chunk: dict) -> bool:
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict):
            delta = choice.get("delta")
            holder = delta if isinstance(delta, dict) else choice
            if holder.get("content") or holder.get("text") or holder.get("tool_calls"):
                return True
    return False


def hide_usage(chunk: dict) -> bool:
    """Drop usage the client did not ask for; False when nothing is left to send."""
    chunk.pop("usage", None)
    return bool(chunk.get("choices"))


async def relay_sse(
    exchange: Exchange,
    response: httpx.Response,
    events: AsyncIterator[SSEEvent],
    first: SSEEvent | None,
) -> AsyncIterator[bytes]:
    """Yield SSE bytes for the client; always ends with [DONE] or an error event."""
    transformer = ChunkTransformer(exchange.decision.transforms, exchange.kind)
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
                    error_event(
                        "The upstream sent malformed stream data.", "upstream_bad_response"
                    ),
                )
                return
            if isinstance(chunk, dict) and "error" in chunk:
                finish_error(exchange, str(chunk["error"])[:500], exchange.status)
                yield deliver(exchange, event.encode())
                return
            if isinstance(chunk, dict) and relay_chunk(exchange, transformer, chunk):
                yield deliver(exchange, sse_data(chunk))
            event = await anext(events, None)
        for extra in transformer.finish():
            exchange.reply.feed_chunk(extra)
            yield deliver(exchange, sse_data(extra))
        finish_ok(exchange)
        yield deliver(exchange, DONE)
    except httpx.TimeoutException:
        finish_error(exchange, "upstream went silent mid-stream", 504)
        yield deliver(
            exchange, error_event("The upstream went silent mid-stream.", "upstream_timeout")
        )
    except httpx.TransportError:
        finish_error(exchange, "upstream connection lost mid-stream", 502)
        yield deliver(
            exchange,
            error_event("The upstream connection was lost mid-stream.", "upstream_disconnected"),
        )
    except (asyncio.CancelledError, GeneratorExit):
        finish_cancelled(exchange)
        raise
    finally:
        await response.aclose()


def relay_chunk(exchange: Exchange, transformer: ChunkTransformer, chunk: dict) -> bool:
    """Note what the chunk says, transform it; False when it should not reach the client."""
    if exchange.first_token_at is None and has_text(chunk):
        exchange.first_token_at = perf_counter()
    if isinstance(chunk.get("usage"), dict):
        exchange.usage = chunk["usage"]
        if exchange.hide_usage and not hide_usage(chunk):
            return False
    if not transformer.apply(chunk):
        return False
    exchange.reply.feed_chunk(chunk)
    return True
