"""Every failure of the Messages API in Anthropic's error shape.

{"type": "error", "error": {"type": ..., "message": ...}}, with Anthropic's type for each
status; the gateway's own backpressure (a full upstream queue) is Anthropic's 529.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from routing.core.errors import GatewayError, OverloadedError, UpstreamStatusError
from routing.core.responses import json_response

log = logging.getLogger(__name__)

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
OVERLOADED = 529
KNOWN_TYPES = frozenset({*TYPES.values(), "api_error", "billing_error", "timeout_error"})


def error_type(status: int) -> str:
    if status in TYPES:
        return TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def anthropic_error(message: str, kind: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


def status_and_body(exc: GatewayError) -> tuple[int, dict]:
    """The status a Messages client gets for a gateway error, and the body."""
    status = OVERLOADED if isinstance(exc, OverloadedError) else exc.status
    kind = error_type(status)
    if isinstance(exc, UpstreamStatusError):  # an upstream that speaks Messages said which
        error = exc.body().get("error")
        if isinstance(error, dict) and error.get("type") in KNOWN_TYPES:
            kind = error["type"]
    return status, anthropic_error(exc.message, kind)


def anthropic_errors(api: NinjaAPI) -> NinjaAPI:
    @api.exception_handler(GatewayError)
    def gateway_error(request: HttpRequest, exc: GatewayError) -> HttpResponse:
        status, body = status_and_body(exc)
        return json_response(body, status, exc.headers)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        message = first.get("msg", "Invalid request.")
        return json_response(anthropic_error(message, "invalid_request_error"), 400)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        body = anthropic_error(str(exc), error_type(exc.status_code))
        return json_response(body, exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return json_response(anthropic_error("Not found.", "not_found_error"), 404)

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unexpected error on %s", request.path)
        body = anthropic_error("The gateway failed to handle this request.", "api_error")
        return json_response(body, 500)

    return api
