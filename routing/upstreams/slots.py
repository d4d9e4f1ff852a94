"""Backpressure: requests to an upstream past its concurrency cap (or past the pool) queue
for at most QUEUE_TIMEOUT, then get a quick 503 with Retry-After instead of a hang."""

from __future__ import annotations

import asyncio

from django.conf import settings

from routing.core.errors import OverloadedError
from routing.rules.engine import UpstreamSpec
from routing.upstreams.health import health

_limits: dict[tuple[asyncio.AbstractEventLoop, str, int], asyncio.Semaphore] = {}


def _semaphore(name: str, size: int) -> asyncio.Semaphore:
    key = (asyncio.get_running_loop(), name, size)  # a new cap starts a new queue
    found = _limits.get(key)
    if found is None:
        found = _limits[key] = asyncio.Semaphore(size)
    return found


class Lease:
    """A place in the queue of an upstream; given back exactly once."""

    def __init__(self, upstream: UpstreamSpec, held: list[asyncio.Semaphore]) -> None:
        self.upstream = upstream
        self._held = held
        health.begin(upstream.name)

    def release(self) -> None:
        if self._held is None:
            return
        for semaphore in self._held:
            semaphore.release()
        self._held = None
        health.end(self.upstream.name)


async def acquire(upstream: UpstreamSpec) -> Lease:
    wanted = [_semaphore("*", settings.UPSTREAM_MAX_CONNECTIONS)]
    if upstream.max_concurrency:
        wanted.append(_semaphore(upstream.name, upstream.max_concurrency))
    held: list[asyncio.Semaphore] = []
    try:
        async with asyncio.timeout(settings.QUEUE_TIMEOUT):
            for semaphore in wanted:
                await semaphore.acquire()
                held.append(semaphore)
    except TimeoutError:
        for semaphore in held:
            semaphore.release()
        raise OverloadedError(
            f"Upstream {upstream.name!r} is at capacity; try again shortly.",
            headers={"Retry-After": "1"},
        ) from None
    return Lease(upstream, held)
