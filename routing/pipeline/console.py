"""One coloured console line when a request starts and one when it ends (`runproxy --verbose`
or VERBOSE=true), subscribed to the request path's announcements.

The lines never include a header or a body; an error's text is redacted (an upstream may
echo a key in it).
"""

from __future__ import annotations

import logging
import sys

from routing.core.exchange import OK, Exchange
from routing.core.redaction import redact_text
from routing.core.request_secrets import secrets_of

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


def print_started(exchange: Exchange) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    mode = "stream" if exchange.stream else "whole"
    log.info(
        _paint(
            f"→ {exchange.endpoint} {_models(exchange)} via {exchange.decision.upstream.name} "
            f"from {exchange.client} ({mode})",
            CYAN,
        )
    )


def print_finished(exchange: Exchange) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    status = exchange.status or 0
    colour = GREEN if exchange.state == OK else (YELLOW if status < 500 else RED)
    usage = exchange.usage or {}
    tokens = f" {usage.get('completion_tokens')} tok" if usage.get("completion_tokens") else ""
    ttft = f" ttft {exchange.ttft_ms:.0f} ms" if exchange.ttft_ms is not None else ""
    error = f" {redact_text(exchange.error, secrets_of(exchange))}" if exchange.error else ""
    took = f"{exchange.duration_ms or 0:.0f} ms"
    log.info(
        _paint(
            f"← {status} {exchange.state} {_models(exchange)} {took}{ttft}{tokens}{error}", colour
        )
    )
