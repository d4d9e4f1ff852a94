"""Service endpoints: what the gateway is, and whether it is healthy."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found

from analytics.views import dashboard
from llmproxy import __version__
from llmproxy.error_shapes import error_body
from routing.core.errors import openai_error

ENDPOINTS = [
    "POST /v1/chat/completions",
    "POST /v1/completions",
    "POST /v1/embeddings",
    "GET /v1/models",
    "POST /v1/messages",
    "POST /v1/messages/count_tokens",
    "GET /v1/docs",
    "* /v1/... (forwarded upstream)",
    "POST /api/chat",
    "POST /api/generate",
    "POST /api/embed",
    "GET /api/tags",
    "GET /health",
]


def home(request: HttpRequest) -> HttpResponse:
    """Browsers get the dashboard; API clients get what the service is."""
    if "text/html" in request.headers.get("Accept", ""):
        return dashboard(request)
    return JsonResponse({"service": "llmproxy", "version": __version__, "endpoints": ENDPOINTS})


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any driver error means "not answering"; the reason is logged by Django
        return False
    finally:
        connection.close()


async def health(request: HttpRequest) -> JsonResponse:
    ok = await sync_to_async(_database_answers, thread_sensitive=False)()
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unavailable"},
        status=200 if ok else 503,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown addresses under an API answer in that API's error shape; pages get a page."""
    path = request.path
    if not path.startswith(("/api/", "/v1/")):
        return page_not_found(request, exception)
    message = f"Unknown endpoint {path}."
    if path.startswith("/api/logs/"):  # the log API speaks OpenAI's shape
        return JsonResponse(
            openai_error(message, "invalid_request_error", None, "not_found"), status=404
        )
    return JsonResponse(error_body(path, message, "not_found"), status=404)
