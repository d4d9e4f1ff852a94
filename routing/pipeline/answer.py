"""A client API's answer: the response cache's stored reply or the upstream's, whole or
streamed in the API's format, and the headers it carries back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from django.http import HttpResponse

from routing.core.exchange import Exchange
from routing.guard import cache
from routing.pipeline.calls import complete, open_stream
from routing.pipeline.relay import StreamFormat, relay, replay
from routing.upstreams.client import client_response_headers


async def whole_reply(
    exchange: Exchange, stored: dict | None
) -> tuple[dict, httpx.Response | None]:
    """The whole reply (an OpenAI completion): the stored one, else the upstream's (kept on
    the exchange for the cache), and the upstream's response for its headers."""
    if stored is not None:
        exchange.reply.feed_completion(stored)
        return stored, None
    data, upstream = await complete(exchange)
    exchange.completion = data
    return data, upstream


async def streamed_reply(
    exchange: Exchange, stored: dict | None, out: StreamFormat, with_usage: bool
) -> tuple[AsyncIterator[bytes], httpx.Response | None]:
    """The client's bytes: the stored reply replayed, else the upstream's stream relayed."""
    if stored is not None:
        chunks = cache.stream_chunks(stored, exchange.kind, with_usage=with_usage)
        return replay(exchange, chunks, out), None
    upstream, events, first = await open_stream(exchange)
    return relay(exchange, upstream, events, first, out), upstream


def add_answer_headers(
    response: HttpResponse, exchange: Exchange, upstream: httpx.Response | None
) -> HttpResponse:
    """The upstream's headers worth passing back (rate limits, request ids, Retry-After…)
    and whether the cache answered."""
    if upstream is not None:
        for key, value in client_response_headers(upstream.headers).items():
            response[key] = value
    for key, value in cache.x_cache(exchange).items():
        response[key] = value
    return response
