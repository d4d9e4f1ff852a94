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

openai_api = openai_errors(
    NinjaAPI(
        title="LLM gateway: OpenAI-compatible API",
        version="1",
        urls_namespace="openai",
        docs_url="/docs",
    )
)
openai_api.add_router("", responses_router)  # first: no catch-all of /v1 shadows its paths
openai_api.add_router("", openai_router)
openai_api.add_router("", embeddings_router)

logs_api = openai_errors(
    NinjaAPI(
        title="LLM gateway: request logs",
        version="1",
        urls_namespace="logs",
        docs_url=None,
        auth=StaffOnly(),
    )
)
logs_api.add_router("", logs_router)


ollama_api = ollama_errors(
    NinjaAPI(
        title="LLM gateway: Ollama-compatible API",
        version="1",
        urls_namespace="ollama",
        docs_url=None,
        openapi_url=None,
    )
)
ollama_api.add_router("", ollama_router)
ollama_api.add_router("", ollama_embeddings_router)
ollama_api.add_router("", ollama_manage_router)


# Mounted under /v1/ before the OpenAI API: its two paths answer here, the rest go on.
anthropic_api = anthropic_errors(
    NinjaAPI(
        title="LLM gateway: Anthropic Messages API",
        version="1",
        urls_namespace="anthropic",
        docs_url=None,
        openapi_url=None,
    )
)
anthropic_api.add_router("", anthropic_router)

# Every /v1 path no other API claims, forwarded upstream. Its own API object, mounted
# after every other one in urls.py, so that specific /v1 routes always win over it.
passthrough_api = openai_errors(
    NinjaAPI(
        title="LLM gateway: pass-through",
        version="1",
        urls_namespace="passthrough",
        docs_url=None,
        openapi_url=None,
    )
)
passthrough_api.add_router("", passthrough_router)
