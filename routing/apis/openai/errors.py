"""Every failure of the OpenAI-compatible API (and of the log API) in OpenAI's error shape."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from routing.core.errors import GatewayError, openai_error
from routing.core.responses import json_response

log = logging.getLogger(__name__)


def openai_errors(api: NinjaAPI) -> NinjaAPI:
    """Every failure on this API answers {"error": {message, type, param, code}}."""

    @api.exception_handler(GatewayError)
    def gateway_error(request: HttpRequest, exc: GatewayError) -> HttpResponse:
        return json_response(exc.body(), exc.status, exc.headers)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        message = first.get("msg", "Invalid request.")
        return json_response(openai_error(message, "invalid_request_error", param), 400)

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        body = openai_error(
            "Authentication required.", "authentication_error", None, "unauthorized"
        )
        return json_response(body, 401)

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        body = openai_error("Staff only.", "permission_error", None, "forbidden")
        return json_response(body, 403)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return json_response(openai_error(str(exc), "invalid_request_error"), exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        body = openai_error("Not found.", "invalid_request_error", None, "not_found")
        return json_response(body, 404)

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unexpected error on %s", request.path)
        body = openai_error("The gateway failed to handle this request.", "server_error")
        return json_response(body, 500)

    return api
