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


def client_ip(request: HttpRequest) -> str:
    """The peer, or the first untrusted hop of X-Forwarded-For when the peer is a trusted proxy."""
    peer = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXIES
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if hop and not _in(hop, trusted):
            return hop if _valid(hop) else peer
    return peer


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _in(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _gateway_token(name: str, value: str) -> str | None:
    """A gateway key carried as a client credential: `Authorization: Bearer` or `x-api-key`
    (which Anthropic's clients send)."""
    if name == "authorization":
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token.startswith(GatewayKey.PREFIX) else None
    if name == "x-api-key":
        token = value.strip()
        return token if token.startswith(GatewayKey.PREFIX) else None
    return None


def presented_key(headers: list[tuple[str, str]]) -> tuple[str | None, list[tuple[str, str]]]:
    """The gateway key a client sent, and its headers without any gateway key in them: a
    gateway key is the gateway's, and never goes upstream (X-Gateway-Key is dropped later)."""
    key = None
    kept = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == KEY_HEADER:
            key = value.strip()
        elif (token := _gateway_token(lowered, value)) is not None:
            key = key or token
            continue
        kept.append((name, value))
    return key, kept


async def admit(request: HttpRequest) -> Admission:
    """Check the gateway key and count the request; raise 401 or 429 in the API's shape."""
    rules = await current_rules()
    headers = list(request.headers.items())
    admission = Admission(client_ip(request), headers=headers)
    key, admission.headers = presented_key(headers)
    now = time.time()
    if key is not None:
        spec = rules.gateway_keys.get(GatewayKey.hash(key))
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
