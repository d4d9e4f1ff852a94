"""Retries and fallback, before the first byte reaches the client, never after, and never so
that a struggling upstream gets more load than one client would give it.

Worth another try: no connection, silence before the first byte, 502, 503 or 504, and a 429
on another target. A 500 or a 4xx is passed on at once (servers answer 500 to some client
mistakes: trying again would run the same generation again). An upstream that answers 429
or 503 with Retry-After rests that long for every request (see health) and is not asked
again by this one; so is one that stayed silent until its timeout, or whose queue stayed
full. Tries go round the route's targets for at most MAX_ATTEMPTS, after a short jittered
pause, and a request counts at most once against an upstream's health.

The error answer tells clients whether to try again themselves (`x-should-retry`, which
the openai SDKs obey): "false" once the gateway has retried or fallen back, so that client
retries do not multiply the gateway's; "true" for a retriable status when it tried once.
Every try is noted on the request's log row.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from time import perf_counter

from django.conf import settings

from routing.core.errors import (
    GatewayError,
    OverloadedError,
    UpstreamRestingError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from routing.core.exchange import Exchange
from routing.core.redaction import redact_text
from routing.core.request_secrets import secrets_of
from routing.rules.engine import Target
from routing.upstreams.balance import order_targets
from routing.upstreams.health import UNWELL_STATUSES, health

_rng = random.Random()
BACKOFF = 0.1  # seconds before the second try; doubles, with jitter, up to MAX_BACKOFF
MAX_BACKOFF = 2.0
CLIENT_RETRY_STATUSES = frozenset({408, 409, 429, 502, 503, 504})
ANY_TARGET, OTHER_TARGETS = "any", "others"  # where a failed request may go next


def pause(attempt: int) -> float:
    return min(BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF) * _rng.uniform(0.5, 1.5)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (a number or an HTTP date), None without one."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def react(error: GatewayError, name: str, counted: set[str], secrets: list[str]) -> str | None:
    """Note what a failed try says about its upstream; where the request may go next
    (ANY_TARGET, OTHER_TARGETS), or None when it should not be tried again."""
    if isinstance(error, OverloadedError):  # our own queue for it is full
        return OTHER_TARGETS
    if isinstance(error, UpstreamStatusError):
        seconds = retry_after(error.headers)
        if error.status in (429, 503) and seconds is not None:
            health.rest(name, seconds, error.status, error.message, secrets)
            return OTHER_TARGETS
        if error.status not in UNWELL_STATUSES:
            health.answered(name, error.status, error.message, secrets)
            return OTHER_TARGETS if error.status == 429 else None
    if name not in counted:
        counted.add(name)  # one request counts once against an upstream's health
        health.failed(name, error.message, secrets)
    return OTHER_TARGETS if isinstance(error, UpstreamTimeoutError) else ANY_TARGET


def advise_client(exchange: Exchange, error: GatewayError) -> GatewayError:
    """Say on the error answer whether the client should try again itself."""
    retried = len(exchange.attempts) > 1
    worth_it = not retried and error.status in CLIENT_RETRY_STATUSES
    error.headers["x-should-retry"] = "true" if worth_it else "false"
    return error


def resting_error(targets: tuple[Target, ...]) -> UpstreamRestingError:
    name = min((t.upstream.name for t in targets), key=health.resting)
    seconds = health.resting(name)
    return UpstreamRestingError(
        health.state(name).rest_status,
        f"Upstream {name!r} asked for a pause; try again in {max(math.ceil(seconds), 1)} s.",
        seconds,
    )


def plan_attempts(exchange: Exchange, tries: int | None = None) -> list[Target]:
    """The targets to try in order, as many as `tries` (else MAX_ATTEMPTS) allows."""
    decision = exchange.decision
    order = order_targets(decision.targets, decision.strategy, health.ready, health.busy, _rng)
    order = [t for t in order if not health.resting(t.upstream.name)]
    if not order:
        raise advise_client(exchange, resting_error(decision.targets))
    ready = [t for t in order if health.ready(t.upstream.name)]
    # Upstreams in cooldown are skipped while another one can answer; when none can, they are
    # tried all the same: refusing would turn one bad minute of one server into downtime.
    order = ready or order
    return [order[i % len(order)] for i in range(tries or settings.MAX_ATTEMPTS)]


def aim(exchange: Exchange, target: Target, model: str) -> None:
    """Point the exchange at a target (its model name there, if it has its own)."""
    final = target.model or model
    exchange.decision = replace(exchange.decision, upstream=target.upstream, model=final)
    exchange.body["model"] = final


def note(exchange: Exchange, target: Target, started: float, error: GatewayError | None) -> None:
    """One try in the request's attempts list (an upstream's words redacted: it may echo a
    key)."""
    exchange.attempts.append(
        {
            "upstream": target.upstream.name,
            "status": error.status if error else 200,
            "error": redact_text(error.message, secrets_of(exchange))[:200] if error else "",
            "ms": round((perf_counter() - started) * 1000, 1),
            "at": round((started - exchange.started) * 1000, 1),  # after the request began
        }
    )


async def with_attempts[Result](
    exchange: Exchange,
    operation: Callable[[Exchange], Awaitable[Result]],
    tries: int | None = None,
) -> Result:
    """`operation` on the route's targets, at most `tries` times (MAX_ATTEMPTS by default;
    1 for a request that cannot be sent twice)."""
    model = exchange.decision.model
    plan = plan_attempts(exchange, tries)
    counted: set[str] = set()
    last: GatewayError | None = None
    while plan:
        target = plan.pop(0)
        if last is not None and not isinstance(last, OverloadedError):
            await asyncio.sleep(pause(len(exchange.attempts)))
        aim(exchange, target, model)
        started = perf_counter()
        try:
            result = await operation(exchange)
        except GatewayError as error:
            note(exchange, target, started, error)
            name = target.upstream.name
            where = react(error, name, counted, secrets_of(exchange))
            if where is None:
                raise advise_client(exchange, error) from None
            if where == OTHER_TARGETS:
                plan = [t for t in plan if t.upstream.name != name]
            last = error
            continue
        note(exchange, target, started, None)
        health.succeeded(target.upstream.name)
        return result
    raise advise_client(exchange, last)
