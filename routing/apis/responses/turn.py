"""One Response being made from a chat completion: its stream format, its usage, its keeping."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils import timezone

from routing.apis.responses.reply import Draft
from routing.apis.responses.store import store
from routing.apis.responses.translate_stream import EventWriter, encode
from routing.core.exchange import Exchange
from routing.pipeline.usage import usage_counts
from routing.streams.sse import SSEEvent

SERVICE = "responses"


def owner_of(gateway_key: str, headers: list[tuple[str, str]], client: str) -> str:
    """Whose a stored response is: the gateway key's name; without keys, the hash of the
    Authorization the caller presented (its own upstream key or token); without either,
    its address. The same caller the response cache keys on."""
    if gateway_key:
        return f"key:{gateway_key}"
    for name, value in headers:
        if name.lower() == "authorization":
            return "auth:" + hashlib.sha256(value.encode()).hexdigest()
    return f"ip:{client}"


def stored_row(exchange: Exchange, owner: str, response: dict, context: list[dict]) -> dict:
    return {
        "id": response["id"],
        "owner": owner,
        "gateway_key": exchange.gateway_key[:100],
        "model": exchange.model_in[:200],
        "status": response.get("status") or "completed",
        "previous_response_id": (response.get("previous_response_id") or "")[:80],
        "upstream": "",
        "request_id": exchange.id,
        "created_at": timezone.now(),
        "response": response,
        "context": context,
        "exchange": exchange,  # for the secrets to blank, worked out when written
    }


async def counted_usage(exchange: Exchange) -> dict:
    """The upstream's token counts, else the gateway's (counted off the event loop)."""
    await usage_counts(exchange)
    return exchange.usage


@dataclass
class Turn:
    exchange: Exchange
    draft: Draft
    context: list[dict]  # every item before this response's output
    owner: str
    store: bool  # the client's `store`

    def keep(self, response: dict | None) -> None:
        if self.store and response is not None:
            store.keep(stored_row(self.exchange, self.owner, response, self.context))


class ResponsesFormat:
    """The relay's output for a Responses client: named events, kept when finished."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.writer = EventWriter(turn.draft)

    def chunk(self, chunk: dict) -> bytes | None:
        return encode(self.writer.feed(chunk)) or None

    def upstream_error(self, event: SSEEvent, error: object) -> bytes:
        message = error.get("message") if isinstance(error, dict) else error
        return self._failed(str(message or "The upstream reported an error."))

    def error(self, message: str, code: str) -> bytes:
        return self._failed(message)

    def _failed(self, message: str) -> bytes:
        events = self.writer.fail(message)
        self.turn.keep(self.writer.response)
        return encode(events)

    async def done(self, exchange: Exchange) -> bytes:
        events = self.writer.finish(await counted_usage(exchange))
        self.turn.keep(self.writer.response)  # before the last event: a follow-up finds it
        return encode(events)
