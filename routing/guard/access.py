"""Who is calling: the client's real address, its gateway key, and whether it may go on.

Runs before anything else on every API request: reads the in-memory rules (no
query), then counts the request against its rate limit.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest

from routing.config.current import current_rules
from routing.core.errors import AuthenticationError, RateLimitedError
from routing.core.redaction import GATEWAY_KEY_PREFIX
from routing.guard.limits import hit
from routing.models import GatewayKey
from routing.rules.engine import KeySpec

KEY_HEADER = "x-gateway-key"


@dataclass
class Admission:
    client: str
    key: KeySpec | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)  # to forward upstream
    rate_headers: dict[str, str] = field(default_factory=dict)


UNKNOWN = "unknown"  # a forwarded address that is none: no network, no bucket of anyone's


def client_ip(request: HttpRequest) -> str:
    """The peer, or the first untrusted hop of X-Forwarded-For when the peer is a trusted
    proxy; a hop that is no address makes the client unknown (never the proxy itself)."""
    peer = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXIES
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        address = hop_address(hop)
        if address is None:
            return UNKNOWN
        if not _in(address, trusted):
            return address
    return peer


def hop_address(hop: str) -> str | None:
    """The IP of a forwarded hop: `a.b.c.d`, `a.b.c.d:port`, an IPv6 address or
    `[v6]:port`; None for anything else."""
    port = ""
    if hop.startswith("["):
        host, closed, rest = hop[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    elif hop.count(":") == 1:
        host, _, port = hop.partition(":")
    else:
        host = hop
    if port and not (port.isdigit() and int(port) <= 65535):
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _in(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def gateway_key_in(name: str, value: str) -> str | None:
    """The gateway key a header carries: all of X-Gateway-Key, or any header's value (or
    its token after a scheme such as Bearer) that is one (Authorization, X-Api-Key, …)."""
    value = value.strip()
    if name.lower() == KEY_HEADER:
        return value
    token = value.rpartition(" ")[2]
    return token if token.startswith(GATEWAY_KEY_PREFIX) else None


def presented_keys(headers: list[tuple[str, str]]) -> list[str]:
    """Every distinct gateway key the client sent, wherever it sent it."""
    found = (gateway_key_in(name, value) for name, value in headers)
    return list(dict.fromkeys(key for key in found if key))


def without_keys(headers: list[tuple[str, str]], keys: list[str]) -> list[tuple[str, str]]:
    """The headers to forward: none that carries a gateway key (the upstream gets its own)."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() != KEY_HEADER and not any(key in value for key in keys)
    ]


async def admit(request: HttpRequest) -> Admission:
    """Check the gateway key and count the request; raise 401 or 429 in the API's shape."""
    rules = await current_rules()
    headers = list(request.headers.items())
    admission = Admission(client_ip(request), headers=headers)
    keys = presented_keys(headers)
    admission.headers = without_keys(headers, keys)
    now = time.time()
    if len(keys) > 1:
        raise AuthenticationError("Two different gateway keys were sent; send one.")
    if keys:
        spec = rules.gateway_keys.get(GatewayKey.hash(keys[0]))
        if spec is None or spec.expired(now):
            raise AuthenticationError("The gateway key is not valid (or has expired).")
        admission.key = spec
    elif settings.REQUIRE_GATEWAY_KEY:
        raise AuthenticationError(
            "A gateway key is required: send it as 'Authorization: Bearer llmp_…', "
            "'x-api-key' or 'X-Gateway-Key'.",
            code="missing_api_key",
        )
    spec = admission.key
    rate = spec.rate if spec is not None and spec.own_rate else settings.RATE_LIMIT
    if rate is not None:
        identity = f"key:{spec.name}" if spec is not None else f"ip:{admission.client}"
        verdict = await hit(identity, rate, now)
        admission.rate_headers = verdict.headers(now)
        request.scope["llmproxy.rate_headers"] = admission.rate_headers
        if not verdict.allowed:
            raise RateLimitedError(
                f"Rate limit reached: {rate.count} requests per {rate.seconds} s. "
                f"Try again in {admission.rate_headers['Retry-After']} s.",
                headers=admission.rate_headers,
            )
    return admission
