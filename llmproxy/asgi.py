"""ASGI entry point: proxy paths take the lean handler, everything else Django's full stack."""

from __future__ import annotations

import gc
import os
from time import perf_counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy.settings")

from django.core.asgi import get_asgi_application

django_app = get_asgi_application()  # sets Django up before the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from analytics.routing import websocket_urlpatterns  # noqa: E402
from llmproxy import handler, limits  # noqa: E402
from llmproxy.crossorigin import SameOriginWebsocket  # noqa: E402
from routing.core import lifecycle  # noqa: E402

PROXY_PREFIXES = ("/v1/",)
PROXY_PATHS = frozenset(
    {"/health", "/api/chat", "/api/generate", "/api/tags", "/api/show", "/api/ps", "/api/version"}
    | {"/api/embed", "/api/embeddings"}
    | {"/api/pull", "/api/create", "/api/copy", "/api/push", "/api/delete"}
)
OLLAMA_BANNER = b"Ollama is running"


# The docs are a page and the schema is served by a sync view: both keep the full stack.
DOCS_PREFIXES = ("/v1/docs", "/v1/openapi.json")


def is_proxy_path(path: str) -> bool:
    """The API paths; the docs keep the full stack (and its CSP)."""
    return (path in PROXY_PATHS or path.startswith(PROXY_PREFIXES)) and not path.startswith(
        DOCS_PREFIXES
    )


async def ollama_root(scope: dict, send) -> None:
    """`GET /` on the Ollama port: the health probe Ollama clients use."""
    body = b"" if scope["method"] == "HEAD" else OLLAMA_BANNER
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(OLLAMA_BANNER)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
            present = {name.lower() for name, _ in message["headers"]}
            for name, value in scope.get("llmproxy.rate_headers", {}).items():
                if name.lower().encode() not in present:  # a 429 carries its own
                    message["headers"].append((name.lower().encode(), value.encode()))
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
    try:
        await within_limits(scope, limits.paced(receive), send)
    except limits.BodyStalledError:
        await refuse_unless_started(scope, send, limits.body_stalled())
    except limits.BodyTooLargeError:
        await refuse_unless_started(scope, send, limits.page_body_too_large())


async def refuse_unless_started(scope: dict, send, refusal) -> None:
    if not scope.get("llmproxy.response_started"):
        await handler.send_refusal(scope, send, refusal)


async def within_limits(scope: dict, receive, send) -> None:
    if refusal := limits.refusal(scope):
        await handler.send_refusal(scope, send, refusal)
    elif is_proxy_path(scope["path"]):
        await handler.handle(scope, receive, send)
    elif (
        scope["path"] == "/"
        and settings.OLLAMA_PORT
        and scope.get("server")
        and scope["server"][1] == settings.OLLAMA_PORT
    ):
        if not await handler.screen(scope, send):  # the API port's Host and Origin rules
            await ollama_root(scope, send)
    else:
        page_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        await django_app(scope, limits.bounded(scope, receive, page_limit), send)


application = ProtocolTypeRouter(
    {
        "http": http,
        "lifespan": lifespan,
        # The dashboard's live channel: the admin's session, and only from our own pages.
        "websocket": SameOriginWebsocket(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
