"""The ninja API objects; each client API maps its errors to its own shape once (its errors.py)."""

from __future__ import annotations

from ninja import NinjaAPI

from analytics.api import StaffOnly
from analytics.api import router as logs_router
from routing.apis.anthropic.errors import anthropic_errors
from routing.apis.anthropic.views import router as anthropic_router
from routing.apis.embeddings.views import ollama_router as ollama_embeddings_router
from routing.apis.embeddings.views import router as embeddings_router
from routing.apis.ollama.errors import ollama_errors
from routing.apis.ollama.views import router as ollama_router
from routing.apis.openai.errors import openai_errors
from routing.apis.openai.views import router as openai_router
from routing.apis.passthrough.views import manage_router as ollama_manage_router
from routing.apis.passthrough.views import router as passthrough_router
from routing.apis.responses.views import router as responses_router


def api_of(errors, title: str, namespace: str, routers: list, **options: object) -> NinjaAPI:
    """One API object: its routers (in order, the first match wins) and its error shape."""
    api = errors(
        NinjaAPI(
            title=f"LLM gateway: {title}",
            version="1",
            urls_namespace=namespace,
            **{"docs_url": None, **options},
        )
    )
    for router in routers:
        api.add_router("", router)
    return api


openai_api = api_of(
    openai_errors,
    "OpenAI-compatible API",
    "openai",
    # Responses first: no catch-all of /v1 shadows its paths.
    [responses_router, openai_router, embeddings_router],
    docs_url="/docs",
)
logs_api = api_of(openai_errors, "request logs", "logs", [logs_router], auth=StaffOnly())
ollama_api = api_of(
    ollama_errors,
    "Ollama-compatible API",
    "ollama",
    [ollama_router, ollama_embeddings_router, ollama_manage_router],
    openapi_url=None,
)
# Mounted under /v1/ before the OpenAI API: its two paths answer here, the rest go on.
anthropic_api = api_of(
    anthropic_errors, "Anthropic Messages API", "anthropic", [anthropic_router], openapi_url=None
)
# Every /v1 path no other API claims, forwarded upstream. Its own API object, mounted
# after every other one in urls.py, so that specific /v1 routes always win over it.
passthrough_api = api_of(
    openai_errors, "pass-through", "passthrough", [passthrough_router], openapi_url=None
)
