"""Who may reach the API paths, judged from the request line and headers alone: the Host it
names, the page that sends it (Origin), and plain HTTP where HTTPS is required.

A browser lets any page post to a server on loopback (as text/plain, no preflight); with
DNS rebinding the page can read the answer too. So a Host outside ALLOWED_HOSTS is
refused, and so is a request from a page whose origin is not the gateway's own nor in
CORS_ALLOWED_ORIGINS. Clients that are not browsers send no Origin and are not affected.
The pages allowed get CORS answers, preflight included.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

# Probes (load balancers, orchestrators) ask for it by address and over plain HTTP.
UNCHECKED_HOST_PATHS = frozenset({"/health"})
EXPOSED_HEADERS = (
    "x-request-id, x-cache, retry-after, x-ratelimit-limit, x-ratelimit-remaining, "
    "x-ratelimit-reset, x-gateway-overhead-ms, server-timing"
)
ALLOWED_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE = b"600"
DEFAULT_PORTS = {"http": 80, "https": 443}
CROSS_SITE = {"cross-site", "same-site"}


@dataclass(frozen=True)
class Refusal:
    """An answer sent instead of the request's: status, message, and the error's code and
    type (OpenAI's vocabulary; each API's shape picks what it knows)."""

    status: int
    message: str
    code: str
    kind: str = "invalid_request_error"


def header(scope: dict, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def is_secure(scope: dict) -> bool:
    """HTTPS to the gateway, or to the proxy in front (SECURE_PROXY_SSL_HEADER, as Django)."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if not proxy_header:
        return False
    name, expected = proxy_header
    wire = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
    value = header(scope, wire) or ""
    return value.split(",", 1)[0].strip() == expected


def host_allowed(host: str, allowed: list[str]) -> bool:
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def normal_origin(origin: str) -> str | None:
    """scheme://host[:port] in lower case with the scheme's default port left out; None for
    anything that is not an http(s) origin (`null`, file://, garbage)."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def own_origin(scope: dict) -> str | None:
    """The origin of the gateway as this request names it (scheme and Host)."""
    host = header(scope, b"host")
    if not host:
        return None
    scheme = "https" if is_secure(scope) else "http"
    return normal_origin(f"{scheme}://{host}")


def listed(origin: str) -> bool:
    """In CORS_ALLOWED_ORIGINS (or it holds `*`)."""
    allowed = settings.CORS_ALLOWED_ORIGINS
    if "*" in allowed:
        return True
    normal = normal_origin(origin)
    return normal is not None and normal in {normal_origin(o) for o in allowed}


def same_origin(scope: dict, origin: str) -> bool:
    """One of the gateway's own pages: same scheme, host and port, and a host ALLOWED_HOSTS
    names (not merely `*`, under which a rebound name would pass as "same origin")."""
    normal = normal_origin(origin)
    host = header(scope, b"host") or ""
    named = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    return normal is not None and normal == own_origin(scope) and host_allowed(host, named)


def refusal(scope: dict) -> Refusal | None:
    """Why this request may not go on, or None."""
    return address_refusal(scope) or origin_refusal(scope)


def address_refusal(scope: dict) -> Refusal | None:
    """Plain HTTP where HTTPS is required, or a Host the gateway does not answer to."""
    if scope["path"] in UNCHECKED_HOST_PATHS:
        return None
    if settings.SECURE and not is_secure(scope):
        return Refusal(
            403,
            "This gateway is served over HTTPS only: send the request to its https:// address.",
            "https_required",
            "permission_error",
        )
    host = header(scope, b"host")
    if host is not None and not host_allowed(host, settings.ALLOWED_HOSTS):
        return Refusal(
            403,
            f"The host {host[:100]!r} is not served here: add it to ALLOWED_HOSTS.",
            "host_not_allowed",
            "permission_error",
        )
    return None


def origin_refusal(scope: dict) -> Refusal | None:
    """A browser page that may not call the API: its Origin is neither the gateway's nor
    allowed, or it sent none but says it is on another site (a plain <img> or <script>)."""
    origin = header(scope, b"origin")
    if origin is None:
        fetch_site = (header(scope, b"sec-fetch-site") or "").lower()
        if fetch_site not in CROSS_SITE or "*" in settings.CORS_ALLOWED_ORIGINS:
            return None
        message = "Requests from pages on other sites are not allowed."
    elif listed(origin) or same_origin(scope, origin):
        return None
    else:
        message = (
            f"Requests from pages on {origin[:100]!r} are not allowed: add the origin to "
            "CORS_ALLOWED_ORIGINS."
        )
    return Refusal(403, message, "origin_not_allowed", "permission_error")


def cors_headers(scope: dict) -> list[tuple[bytes, bytes]]:
    """The CORS headers of an answer to a page CORS_ALLOWED_ORIGINS lets in (none for the
    gateway's own pages and for clients that are not browsers)."""
    origin = header(scope, b"origin")
    if origin is None or not listed(origin):
        return []
    allow = b"*" if "*" in settings.CORS_ALLOWED_ORIGINS else origin.strip().encode("latin-1")
    return [
        (b"access-control-allow-origin", allow),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]


def is_preflight(scope: dict) -> bool:
    return (
        scope["method"] == "OPTIONS"
        and header(scope, b"origin") is not None
        and header(scope, b"access-control-request-method") is not None
    )


def preflight_headers(scope: dict) -> list[tuple[bytes, bytes]]:
    """What a preflight is told: the methods, the headers it asked for, how long to keep it."""
    asked = (header(scope, b"access-control-request-headers") or "")[:2000]
    headers = [
        *cors_headers(scope),
        (b"access-control-allow-methods", ALLOWED_METHODS),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE),
    ]
    if asked.strip():
        headers.append((b"access-control-allow-headers", asked.encode("latin-1")))
    return headers


class SameOriginWebsocket:
    """The dashboard's live channel opens only from the gateway's own pages: the Origin's
    scheme, host and port are the request's own, and its Host is in ALLOWED_HOSTS. (A page
    on another port or scheme of the same host is another origin, with the staff cookie.)"""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive, send) -> None:
        from channels.security.websocket import WebsocketDenier

        origin = normal_origin(header(scope, b"origin") or "")
        host = header(scope, b"host") or ""
        if (
            origin is None
            or origin != own_origin(scope)
            or not host_allowed(host, settings.ALLOWED_HOSTS)
        ):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
