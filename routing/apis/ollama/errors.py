"""Every failure of the Ollama-compatible API in Ollama's error shape: {"error": "..."}."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from routing.core.errors import GatewayError
from routing.core.responses import json_response

log = logging.getLogger(__name__)


def ollama_errors(api: NinjaAPI) -> NinjaAPI:
    """Every failure on this API answers Ollama's {"error": "..."}."""

    def reply(message: str, status: int, headers: dict | None = None) -> HttpResponse:
        return json_response({"error": message}, status, headers)

    @api.exception_handler(GatewayError)
    def gateway_error(request: HttpRequest, exc: GatewayError) -> HttpResponse:
        return reply(exc.message, exc.status, exc.headers)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        return reply(first.get("msg", "invalid request"), 400)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return reply(str(exc), exc.status_code)

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unexpected error on %s", request.path)
        return reply("the gateway failed to handle this request", 500)

    return api
