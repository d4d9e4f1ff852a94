"""Rate limits: fixed windows counted in Django's cache (in-process, or Redis when shared)."""

from __future__ import annotations

import time

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from routing.rates import Rate, Verdict


async def _count(key: str, ttl: int) -> int:
    """Add one to `key`, creating it with `ttl`; atomic in Redis and in the local cache."""
    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        # The in-process cache does no I/O: calling it directly avoids a thread hop.
        cache.add(key, 0, ttl)
        return cache.incr(key)
    await cache.aadd(key, 0, ttl)
    return await cache.aincr(key)


async def hit(identity: str, rate: Rate, now: float | None = None) -> Verdict:
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    count = await _count(f"rl:{rate.count}:{rate.seconds}:{identity}:{window}", rate.seconds + 5)
    return Verdict(
        count <= rate.count, rate.count, max(rate.count - count, 0), (window + 1) * rate.seconds
    )
