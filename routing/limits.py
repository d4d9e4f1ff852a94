"""Rate limits: fixed windows, counted in this process, or in Redis when workers share them.

Without REDIS_URL the counts live in Django's local cache (no I/O, so it is called
directly). With REDIS_URL every worker and node counts in the same Redis keys, with
one pipelined round trip per request on the event loop: Django's cache API would
take a worker thread per call, which cost two thirds of the throughput.
"""

from __future__ import annotations

import asyncio
import time

from django.conf import settings
from django.core.cache import caches

from routing.rates import Rate, Verdict

_redis: dict[asyncio.AbstractEventLoop, object] = {}


def _client():
    """One redis.asyncio client per event loop (its connections belong to the loop)."""
    import redis.asyncio as redis

    loop = asyncio.get_running_loop()
    client = _redis.get(loop)
    if client is None:
        client = _redis[loop] = redis.from_url(settings.REDIS_URL)
    return client


async def _count(key: str, ttl: int) -> int:
    """Add one to `key`, which lives `ttl` seconds from its first count."""
    if settings.REDIS_URL:
        pipe = _client().pipeline(transaction=False)
        pipe.incr(f"llmproxy:{key}")
        pipe.expire(f"llmproxy:{key}", ttl, nx=True)
        count, _ = await pipe.execute()
        return int(count)
    cache = caches["default"]
    cache.add(key, 0, ttl)
    return cache.incr(key)


async def hit(identity: str, rate: Rate, now: float | None = None) -> Verdict:
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    count = await _count(f"rl:{rate.count}:{rate.seconds}:{identity}:{window}", rate.seconds + 5)
    return Verdict(
        count <= rate.count, rate.count, max(rate.count - count, 0), (window + 1) * rate.seconds
    )


async def close_clients() -> None:
    loop = asyncio.get_running_loop()
    client = _redis.pop(loop, None)
    if client is not None:
        await client.aclose()
