"""GET /metrics: Prometheus's text, for the addresses in METRICS_ALLOW or the METRICS_TOKEN."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from analytics.metrics import render
from routing.core.errors import openai_error
from routing.core.responses import json_response
from routing.guard.access import client_ip


def allowed_address(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip  # ::ffff:127.0.0.1 on a dual-stack socket
    return any(ip in network for network in networks)


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None for METRICS_ALLOW's addresses and for the METRICS_TOKEN; else a 401 or a 403."""
    if allowed_address(client_ip(request), settings.METRICS_ALLOW):
        return None
    token = settings.METRICS_TOKEN
    if not token:
        message = "Metrics are served only to the addresses in METRICS_ALLOW."
        return json_response(openai_error(message, "permission_error", None, "forbidden"), 403)
    if hmac.compare_digest(bearer_token(request).encode(), token.encode()):
        return None
    message = "A metrics token is required: send 'Authorization: Bearer <METRICS_TOKEN>'."
    body = openai_error(message, "authentication_error", None, "invalid_api_key")
    return json_response(body, 401, {"WWW-Authenticate": "Bearer"})


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Sync on purpose: the upstream list may need the database (loaded_rules)."""
    return refusal(request) or HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
