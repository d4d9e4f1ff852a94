"""What goes upstream for a Messages request: the translated chat body with OpenAI's
credentials, or the client's own body for an upstream that speaks Messages natively."""

from __future__ import annotations

from dataclasses import replace

import httpx
import orjson

from routing.apis.anthropic.request import with_model
from routing.core.exchange import Exchange
from routing.pipeline.calls import UPSTREAM_PATHS, Builder
from routing.rules.engine import UpstreamSpec
from routing.upstreams.client import build_request

NATIVE = "anthropic"
MESSAGES_PATH = "/v1/messages"
COUNT_PATH = "/v1/messages/count_tokens"
DEFAULT_VERSION = "2023-06-01"
# Anthropic's own headers mean nothing to an OpenAI-speaking upstream; the key moves to
# Authorization, where those upstreams look for it.
ANTHROPIC_HEADERS = frozenset(
    {"anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access"}
)


def is_native(exchange: Exchange) -> bool:
    return exchange.decision.upstream.api == NATIVE


def openai_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's headers for an OpenAI-speaking upstream: `x-api-key` becomes a bearer."""
    out = [(n, v) for n, v in headers if n.lower() not in ANTHROPIC_HEADERS | {"x-api-key"}]
    key = next((v.strip() for n, v in headers if n.lower() == "x-api-key"), "")
    if key and not any(n.lower() == "authorization" for n, _ in out):
        out.append(("authorization", f"Bearer {key}"))
    return out


def native_request(
    upstream: UpstreamSpec, headers: list[tuple[str, str]], path: str, body: bytes
) -> httpx.Request:
    """A request in Anthropic's own terms: its key goes as `x-api-key`, a version is set."""
    request = build_request(replace(upstream, api_key=""), path, headers, body)
    has_key = "x-api-key" in request.headers or "authorization" in request.headers
    if upstream.api_key and (upstream.key_overrides or not has_key):
        request.headers.pop("authorization", None)
        request.headers["x-api-key"] = upstream.api_key
    request.headers.setdefault("anthropic-version", DEFAULT_VERSION)
    return request


def builder(client_body: dict) -> Builder:
    """Builds each attempt's request for its target: native, or translated (exchange.body)."""
    translated_headers: list[tuple[str, str]] | None = None

    def build(exchange: Exchange) -> httpx.Request:
        nonlocal translated_headers
        if is_native(exchange):
            body = with_model(client_body, exchange.decision.model)
            return native_request(
                exchange.decision.upstream, exchange.request_headers, MESSAGES_PATH, body
            )
        if translated_headers is None:
            translated_headers = openai_headers(exchange.request_headers)
        return build_request(
            exchange.decision.upstream,
            UPSTREAM_PATHS[exchange.kind],
            translated_headers,
            orjson.dumps(exchange.body),
        )

    return build
