"""ASGI entry point: proxy paths take the lean handler, everything else Django's full stack."""

from __future__ import annotations

import gc
import os
from time import perf_counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy.settings")

from django.core.asgi import get_asgi_application

django_app = get_asgi_application()  # sets Django up before the imports below

from llmproxy import handler, lifecycle  # noqa: E402

PROXY_PREFIXES = ("/v1/", "/health")


def is_proxy_path(path: str) -> bool:
    return path.startswith(PROXY_PREFIXES)


def measure_overhead(scope: dict, send):
    """Add X-Gateway-Overhead-Ms: time spent in the gateway, not waiting on the upstream.

    The same split goes into a standard Server-Timing header, which browsers show.
    """

    async def timed_send(message: dict) -> None:
        if message["type"] == "http.response.start":
            scope["llmproxy.response_started"] = True
            exchange = scope.get("llmproxy.exchange")
            wait = exchange.upstream_wait if exchange is not None else 0.0
            overhead = max((perf_counter() - scope["llmproxy.started"] - wait) * 1000, 0.0)
            timing = f"gateway;dur={overhead:.2f}, upstream;dur={wait * 1000:.2f}"
            message["headers"] = [
                *message.get("headers", ()),
                (b"x-gateway-overhead-ms", f"{overhead:.2f}".encode()),
                (b"server-timing", timing.encode()),
            ]
            if exchange is not None:
                message["headers"].append((b"x-request-id", str(exchange.id).encode()))
        await send(message)

    return timed_send


async def lifespan(scope: dict, receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            lifecycle.ensure_started()
            # Everything loaded so far lives as long as the process: keep the collector
            # from scanning it again and again (long pauses show up as p99 latency).
            gc.freeze()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await lifecycle.shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def http(scope: dict, receive, send) -> None:
    scope["llmproxy.started"] = perf_counter()
    lifecycle.ensure_started()
    send = measure_overhead(scope, send)
    if is_proxy_path(scope["path"]):
        await handler.handle(scope, receive, send)
    else:
        await django_app(scope, receive, send)


async def application(scope: dict, receive, send) -> None:
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    else:
        raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
