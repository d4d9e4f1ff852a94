"""Where the request path reports what happened: one call when a request starts, one at the end.

Each call hands the exchange to the recording writer (a queue append, no I/O) and,
with `runproxy --verbose` (or VERBOSE=true), prints one coloured line. The lines
never include a header or a body, so no secret can leak through them.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings

from recording.writer import writer
from routing import cache
from routing.exchange import OK, Exchange

log = logging.getLogger("llmproxy.traffic")

CYAN, GREEN, YELLOW, RED, DIM, RESET = (
    "\033[36m",
    "\033[32m",
    "\033[33m",
    "\033[31m",
    "\033[2m",
    "\033[0m",
)


def _paint(text: str, colour: str) -> str:
    return f"{colour}{text}{RESET}" if sys.stderr.isatty() else text


def _models(exchange: Exchange) -> str:
    final = exchange.decision.model
    return exchange.model_in if final == exchange.model_in else f"{exchange.model_in} → {final}"


def request_started(exchange: Exchange) -> None:
    if settings.ENABLE_LOGGING:
        writer.submit("start", exchange)
    if log.isEnabledFor(logging.INFO):
        mode = "stream" if exchange.stream else "whole"
        log.info(
            _paint(
                f"→ {exchange.endpoint} {_models(exchange)} via {exchange.decision.upstream.name} "
                f"from {exchange.client} ({mode})",
                CYAN,
            )
        )


def request_finished(exchange: Exchange) -> None:
    if settings.ENABLE_LOGGING:
        writer.submit("finish", exchange)
    if exchange.cache_key is not None:
        remember(exchange)
    if log.isEnabledFor(logging.INFO):
        status = exchange.status or 0
        colour = GREEN if exchange.state == OK else (YELLOW if status < 500 else RED)
        usage = exchange.usage or {}
        tokens = f" {usage.get('completion_tokens')} tok" if usage.get("completion_tokens") else ""
        ttft = f" ttft {exchange.ttft_ms:.0f} ms" if exchange.ttft_ms is not None else ""
        error = f" {exchange.error}" if exchange.error else ""
        took = f"{exchange.duration_ms or 0:.0f} ms"
        log.info(
            _paint(
                f"← {status} {exchange.state} {_models(exchange)} {took}{ttft}{tokens}{error}",
                colour,
            )
        )


def remember(exchange: Exchange) -> None:
    """Keep a good answer in the response cache, or count the hit it was."""
    if exchange.cache_hit:
        writer.submit_cache_hit(exchange.cache_key)
        return
    if exchange.state != OK:
        return
    completion = cache.completion_of(exchange, exchange.completion)
    if completion is not None:
        writer.submit_cache(cache.row_for(exchange, exchange.cache_key, completion))
