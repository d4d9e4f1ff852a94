"""The two stream formats of the Messages API for pipeline.relay: chat chunks translated
into Messages events, and an upstream's own Messages events passed through (and read back
for the log, the cache and the training capture)."""

from __future__ import annotations

from time import perf_counter

from routing.apis.anthropic.reply import Asked, MessageStream, error_event, event
from routing.apis.anthropic.translate_native import EventReader
from routing.core.exchange import Exchange
from routing.pipeline.usage import usage_counts
from routing.streams.sse import SSEEvent


def message_id(exchange: Exchange) -> str:
    """The message id carries the request id, so a client's message finds its log row."""
    return f"msg_{exchange.id.hex}"


def error_message(error: object) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or "upstream error")


async def counted_usage(exchange: Exchange) -> dict:
    """The upstream's token counts, else the gateway's (counted off the event loop)."""
    await usage_counts(exchange)
    return exchange.usage


class MessagesFormat:
    """Chat chunks (transformed) as Messages events."""

    def __init__(self, exchange: Exchange, asked: Asked) -> None:
        self.exchange = exchange
        self.stream = MessageStream(asked, message_id(exchange))

    def chunk(self, chunk: dict) -> bytes | None:
        if not self.stream.started and self.exchange.usage:  # a stored answer knows them
            return self.stream.start(self.exchange.usage) + self.stream.chunk(chunk)
        return self.stream.chunk(chunk) or None

    def upstream_error(self, event: SSEEvent, error: object) -> bytes:
        return error_event("api_error", error_message(error))

    def error(self, message: str, code: str) -> bytes:
        return error_event("api_error", message)

    async def done(self, exchange: Exchange) -> bytes:
        return self.stream.end(await counted_usage(exchange))


class NativeFormat:
    """An upstream's Messages events as they are; read back into chat terms on the way."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.reader = EventReader()

    def chunk(self, chunk: dict) -> bytes | None:
        if not isinstance(chunk.get("type"), str):
            return None
        exchange = self.exchange
        translated = self.reader.chunk(chunk)
        if translated is not None:
            delta = translated["choices"][0]["delta"]
            if exchange.first_token_at is None and (delta.get("content") or "tool_calls" in delta):
                exchange.first_token_at = perf_counter()
            exchange.reply.feed_chunk(translated)
        if chunk["type"] in ("message_start", "message_delta"):
            exchange.usage = self.reader.counted()
        return event(chunk)

    def upstream_error(self, event: SSEEvent, error: object) -> bytes:
        return event.encode()

    def error(self, message: str, code: str) -> bytes:
        return error_event("api_error", message)

    async def done(self, exchange: Exchange) -> bytes:
        return b""
