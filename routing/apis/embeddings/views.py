"""Thin ninja views of embeddings: OpenAI's /v1/embeddings and Ollama's /api/embed and
/api/embeddings, all sent to the upstreams' /v1/embeddings."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.embeddings.answer import fetch, keep_summary, ollama_timings, reply_response
from routing.apis.embeddings.reply import (
    ollama_embed_parts,
    ollama_legacy_parts,
    openai_parts,
)
from routing.apis.embeddings.request import (
    MAX_DIMENSIONS,
    check_embeddings_body,
    embed_request,
    legacy_request,
    requested_format,
)
from routing.core.exchange import EMBEDDINGS
from routing.core.responses import json_response
from routing.guard.validation import parse_json_object
from routing.pipeline.calls import row_finished_on_failure
from routing.pipeline.intake import admit_exchange, begin

router = Router(tags=["OpenAI"])  # on the OpenAI API
ollama_router = Router(tags=["Ollama"])  # on the Ollama API

EMBEDDINGS_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "input"],
                    "properties": {
                        "model": {"type": "string"},
                        "input": {"description": "a text, texts, token ids, or lists of them"},
                        "encoding_format": {"type": "string", "enum": ["float", "base64"]},
                        "dimensions": {"type": "integer", "minimum": 1, "maximum": MAX_DIMENSIONS},
                        "user": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post("/embeddings", openapi_extra=EMBEDDINGS_REQUEST, summary="Embeddings")
async def embeddings(request: HttpRequest) -> HttpResponse:
    exchange = begin(request, "openai", EMBEDDINGS)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        body = parse_json_object(exchange.raw_request)
        encoding = requested_format(body)
        exchange.details = {"inputs": check_embeddings_body(body), "encoding_format": encoding}
        found, headers = await fetch(exchange, request, body)
        keep_summary(exchange, found, encoding)
        unchanged = all(v.base64 == (encoding == "base64") for v in found.vectors)
        length = len(found.raw) if unchanged else None
        return reply_response(exchange, openai_parts(found, encoding), headers, length)


async def ollama_embeddings(request: HttpRequest, legacy: bool) -> HttpResponse:
    exchange = begin(request, "ollama", EMBEDDINGS)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        client_body = parse_json_object(exchange.raw_request)
        body = legacy_request(client_body) if legacy else embed_request(client_body)
        if body["input"] in (None, "", []):  # Ollama answers an empty input without a model run
            return json_response({"embedding": []} if legacy else empty_embed(body["model"]))
        exchange.details = {"inputs": check_embeddings_body(body), "encoding_format": "float"}
        found, _ = await fetch(exchange, request, body)
        keep_summary(exchange, found, "float")
        if legacy:
            return reply_response(exchange, ollama_legacy_parts(found), {})
        timings = await ollama_timings(exchange)
        parts = ollama_embed_parts(found, exchange.model_in, timings)
        return reply_response(exchange, parts, {})


def empty_embed(model: str) -> dict:
    return {
        "model": model,
        "embeddings": [],
        "total_duration": 0,
        "load_duration": 0,
        "prompt_eval_count": 0,
    }


@ollama_router.post("/embed", summary="Ollama embeddings")
async def embed(request: HttpRequest) -> HttpResponse:
    return await ollama_embeddings(request, legacy=False)


@ollama_router.post("/embeddings", summary="Ollama embeddings (the older endpoint)")
async def embeddings_legacy(request: HttpRequest) -> HttpResponse:
    return await ollama_embeddings(request, legacy=True)
