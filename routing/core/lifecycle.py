"""Background tasks of a gateway process (config watcher, writers), started once per event loop.

ASGI servers that speak the lifespan protocol start them before the first
request; for the others the first request does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

_factories: list[Callable[[], Awaitable[None]]] = []
_shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
_running: dict[asyncio.AbstractEventLoop, list[asyncio.Task]] = {}


def on_start(factory: Callable[[], Awaitable[None]]) -> None:
    """Run `factory()` as a background task in every serving process."""
    if factory not in _factories:
        _factories.append(factory)


def on_shutdown(hook: Callable[[], Awaitable[None]]) -> None:
    if hook not in _shutdown_hooks:
        _shutdown_hooks.append(hook)


def ensure_started() -> None:
    loop = asyncio.get_running_loop()
    if loop in _running:
        return
    _running[loop] = [loop.create_task(f(), name=f.__qualname__) for f in _factories]


async def shutdown() -> None:
    loop = asyncio.get_running_loop()
    for task in _running.pop(loop, []):
        task.cancel()
    for hook in _shutdown_hooks:
        try:
            await hook()
        except Exception:  # shutting down anyway: report and go on with the other hooks
            log.exception("shutdown hook %s failed", hook.__qualname__)
