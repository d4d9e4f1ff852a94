"""The one place that talks to upstreams: the pooled client and the request builder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from django.conf import settings

from routing.core.redaction import GATEWAY_KEY
from routing.rules.engine import UpstreamSpec
from routing.upstreams.transport import AiohttpTransport

# Never forwarded in either direction: they describe one hop, not the message.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Not sent upstream: the gateway's own cookies, and encodings we would have to undo.
DROP_TO_UPSTREAM = HOP_BY_HOP | {"cookie", "accept-encoding", "x-gateway-key"}
# Not passed back to the client: the gateway sets its own.
DROP_FROM_UPSTREAM = HOP_BY_HOP | {"content-encoding", "server", "date", "set-cookie"}

_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def get_client() -> httpx.AsyncClient:
    """The pooled client of the running event loop (one per process in production)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        for old in [lp for lp in _clients if lp.is_closed()]:
            del _clients[old]
        client = _clients[loop] = _new_client()
    return client


def _new_client() -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=settings.UPSTREAM_MAX_CONNECTIONS,
        max_keepalive_connections=settings.UPSTREAM_MAX_CONNECTIONS,
        keepalive_expiry=4.0,
    )
    transport = (
        AiohttpTransport(settings.UPSTREAM_MAX_CONNECTIONS)
        if settings.UPSTREAM_TRANSPORT == "aiohttp"
        else httpx.AsyncHTTPTransport(limits=limits)
    )
    # An upstream's Set-Cookie answers one client: keeping it would hand it to the next.
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(transport=transport, timeout=None, follow_redirects=False, cookies=jar)


async def close_clients() -> None:
    for client in list(_clients.values()):
        await client.aclose()
    _clients.clear()


def timeout_for(upstream: UpstreamSpec) -> httpx.Timeout:
    """Connect timeout, then REQUEST_TIMEOUT to the first byte and between chunks.

    There is no cap on the whole exchange: a healthy long stream is never cut.
    """
    idle = upstream.timeout or settings.REQUEST_TIMEOUT
    return httpx.Timeout(
        connect=min(settings.CONNECT_TIMEOUT, idle), read=idle, write=idle, pool=idle
    )


def upstream_headers(client_headers: Iterable[tuple[str, str]], upstream: UpstreamSpec) -> dict:
    # A header holding a gateway key never leaves, whichever way it came in (the guard has
    # taken them out already: this is the last line).
    headers = {
        k.lower(): v
        for k, v in client_headers
        if k.lower() not in DROP_TO_UPSTREAM and not GATEWAY_KEY.search(v)
    }
    headers["accept-encoding"] = "identity"
    if upstream.api_key and (upstream.key_overrides or "authorization" not in headers):
        headers["authorization"] = f"Bearer {upstream.api_key}"
    return headers


def build_request(
    upstream: UpstreamSpec,
    path: str,
    client_headers: Iterable[tuple[str, str]],
    body: bytes | AsyncIterable[bytes] | None = None,
    method: str = "POST",
    content_type: str | None = None,
) -> httpx.Request:
    """`body` JSON unless `content_type` says otherwise; an async iterable is streamed."""
    headers = upstream_headers(client_headers, upstream)
    if content_type is not None:
        headers["content-type"] = content_type
    elif body is not None:
        headers["content-type"] = "application/json"
    return get_client().build_request(
        method,
        upstream.base_url + path,
        headers=headers,
        content=body,
        extensions={"timeout": timeout_for(upstream).as_dict()},
    )


def client_response_headers(upstream_headers: Mapping[str, str]) -> dict[str, str]:
    """Upstream headers worth passing back (rate limits, request ids, Retry-After…)."""
    return {
        k: v
        for k, v in upstream_headers.items()
        if k.lower() not in DROP_FROM_UPSTREAM and k.lower() != "content-type"
    }
