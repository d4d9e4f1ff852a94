"""Rate limits: fixed windows, counted in this process, or in Redis when workers share them.

Without REDIS_URL the counts live in Django's local cache (no I/O, so it is called
directly). With REDIS_URL every worker and node counts in the same Redis keys, with
one pipelined round trip per request on the event loop: Django's cache API would
take a worker thread per call, which cost two thirds of the throughput.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches

from routing.core.shared_redis import redis_client
from routing.rules.rates import Rate, Verdict


async def _count(key: str, ttl: int) -> int:
    """Add one to `key`, which lives `ttl` seconds from its first count."""
    if settings.REDIS_URL:
        pipe = redis_client().pipeline(transaction=False)
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
