"""The Redis client that processes share state through (REDIS_URL): rate-limit counts and
upstream cooldowns. One client per event loop, since its connections belong to the loop."""

from __future__ import annotations

import asyncio

from django.conf import settings

_clients: dict[asyncio.AbstractEventLoop, object] = {}


def redis_client():
    import redis.asyncio as redis

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = redis.from_url(settings.REDIS_URL)
    return client


async def close_redis() -> None:
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
