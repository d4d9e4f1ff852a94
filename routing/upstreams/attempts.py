"""Retries and fallback, before the first byte reaches the client, never after.

A failure worth another try (no connection, silence before the first byte, 429 or
5xx from the upstream, a full queue) moves the request to the next target of its
route (round again when there are fewer targets than tries), after a short jittered
pause, for at most MAX_ATTEMPTS tries. An upstream that stayed silent until its timeout,
or whose queue stayed full, is not asked again by the same request, and a request counts
at most once against an upstream's health. Every try is noted on the request's log row.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from time import perf_counter

from django.conf import settings

from routing.core.errors import (
    GatewayError,
    OverloadedError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from routing.core.exchange import Exchange
from routing.rules.engine import Target
from routing.upstreams.balance import order_targets
from routing.upstreams.health import health

_rng = random.Random()
BACKOFF = 0.1  # seconds before the second try; doubles, with jitter, up to MAX_BACKOFF
MAX_BACKOFF = 2.0


def retryable(error: GatewayError) -> bool:
    if isinstance(error, UpstreamStatusError):
        return error.status == 429 or error.status >= 500
    return isinstance(error, UpstreamUnreachableError | UpstreamTimeoutError | OverloadedError)


def pause(attempt: int) -> float:
    return min(BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF) * _rng.uniform(0.5, 1.5)


def aim(exchange: Exchange, target: Target, model: str) -> None:
    """Point the exchange at a target (its model name there, if it has its own)."""
    final = target.model or model
    exchange.decision = replace(exchange.decision, upstream=target.upstream, model=final)
    exchange.body["model"] = final


def note(exchange: Exchange, target: Target, started: float, error: GatewayError | None) -> None:
    exchange.attempts.append(
        {
            "upstream": target.upstream.name,
            "status": error.status if error else 200,
            "error": error.message[:200] if error else "",
            "ms": round((perf_counter() - started) * 1000, 1),
            "at": round((started - exchange.started) * 1000, 1),  # after the request began
        }
    )


async def with_attempts[Result](
    exchange: Exchange, operation: Callable[[Exchange], Awaitable[Result]]
) -> Result:
    decision = exchange.decision
    order = order_targets(decision.targets, decision.strategy, health.ready, health.busy, _rng)
    ready = [t for t in order if health.ready(t.upstream.name)]
    # Resting upstreams are skipped while another one can answer; when none can, they are
    # tried all the same: refusing would turn one bad minute of one server into downtime.
    order = ready or order
    plan = [order[i % len(order)] for i in range(settings.MAX_ATTEMPTS)]
    failed: set[str] = set()
    last: GatewayError | None = None
    while plan:
        target = plan.pop(0)
        if last is not None:
            await asyncio.sleep(0 if isinstance(last, OverloadedError) else pause(len(failed)))
        aim(exchange, target, decision.model)
        started = perf_counter()
        try:
            result = await operation(exchange)
        except GatewayError as error:
            note(exchange, target, started, error)
            if not retryable(error):
                raise
            name = target.upstream.name
            if not isinstance(error, OverloadedError) and name not in failed:
                failed.add(name)  # one request counts once against an upstream's health
                health.failed(name, error.message)
            if isinstance(error, UpstreamTimeoutError | OverloadedError):  # waited enough there
                plan = [t for t in plan if t.upstream.name != name]
            last = error
            continue
        note(exchange, target, started, None)
        health.succeeded(target.upstream.name)
        return result
    raise last
