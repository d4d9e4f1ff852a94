"""Embeddings through the request path: route, cache, upstream (with attempts), and the
reply handed out in pieces, the vectors never parsed unless the cache keeps a copy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from time import perf_counter

import httpx
import orjson
from django.http import HttpRequest

from routing.apis.embeddings.reply import ReplyError, Scan, in_pieces, scan, summary
from routing.core.errors import UpstreamUnreachableError
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse
from routing.guard import cache
from routing.pipeline.calls import finish_cancelled, finish_error, finish_ok, read_all, send
from routing.pipeline.intake import prepare
from routing.streams import tokens
from routing.upstreams.attempts import with_attempts
from routing.upstreams.client import client_response_headers


async def _fetch_once(exchange: Exchange) -> tuple[bytearray, httpx.Response]:
    response = await send(exchange)
    return await read_all(exchange, response), response


async def fetch(exchange: Exchange, request: HttpRequest, body: dict) -> tuple[Scan, dict]:
    """The scanned reply, from the cache or the upstream, and the headers to pass back."""
    await prepare(exchange, request, body)
    stored = await cache.consult(exchange, request.headers)
    if stored is not None:
        raw, headers = orjson.dumps(stored), {}
    else:
        raw, response = await with_attempts(exchange, _fetch_once)
        exchange.status = response.status_code
        headers = client_response_headers(response.headers)
    exchange.first_token_at = exchange.first_byte_at
    try:
        found = scan(raw)
    except ReplyError as exc:
        raise UpstreamUnreachableError(str(exc), code="upstream_bad_response") from None
    exchange.usage = found.usage
    exchange.details["dimensions"] = found.dimensions()
    if exchange.cache_key is not None and not exchange.cache_hit:
        exchange.completion = orjson.loads(found.raw)  # the copy the cache keeps
    return found, headers


def keep_summary(exchange: Exchange, found: Scan, encoding: str) -> None:
    """The log keeps what the reply was, not its vectors."""
    inputs = exchange.details.get("inputs", 0)
    exchange.delivered = [orjson.dumps(summary(found, encoding, inputs))]


async def hand_out(exchange: Exchange, pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Send the pieces as they are made; the exchange ends with the last one."""
    try:
        for piece in pieces:
            exchange.bytes_out += len(piece)
            yield piece
    except ReplyError as exc:  # a vector that could not be converted: the reply is cut
        finish_error(exchange, str(exc), 502)
        return
    except (asyncio.CancelledError, GeneratorExit):
        finish_cancelled(exchange)
        raise
    finish_ok(exchange)


def reply_response(
    exchange: Exchange, parts: Iterator, headers: dict, length: int | None = None
) -> RelayResponse:
    response = RelayResponse(hand_out(exchange, in_pieces(parts)), content_type="application/json")
    if length is not None:
        response["Content-Length"] = str(length)
    for key, value in {**headers, **cache.x_cache(exchange)}.items():
        response[key] = value
    return response


async def prompt_count(exchange: Exchange) -> int:
    """The prompt tokens Ollama reports: the upstream's, else counted (off the loop)."""
    prompt = (exchange.usage or {}).get("prompt_tokens")
    if isinstance(prompt, int):
        return prompt
    model, value = exchange.decision.model, exchange.body.get("input")
    counted = await asyncio.to_thread(tokens.count_inputs, value, model)
    exchange.usage = {"prompt_tokens": counted, "total_tokens": counted, "estimated": True}
    return counted


async def ollama_timings(exchange: Exchange) -> dict:
    """Ollama's figures, in integer nanoseconds."""
    count = await prompt_count(exchange)
    return {
        "total_duration": int((perf_counter() - exchange.started) * 1e9),
        "load_duration": 0,
        "prompt_eval_count": count,
    }
