"""Thin ninja views of the OpenAI-compatible endpoints."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing import catalog
from routing.chunks import CHAT, TEXT
from routing.errors import GatewayError
from routing.pipeline import (
    complete,
    finish_cancelled,
    finish_error,
    finish_ok,
    open_stream,
    prepare,
)
from routing.relay import relay_sse
from routing.responses import RelayResponse, json_response
from routing.schemas import CHAT_REQUEST, COMPLETION_REQUEST
from routing.upstream import client_response_headers

router = Router(tags=["OpenAI"])


async def proxy_openai(request: HttpRequest, kind: str) -> HttpResponse:
    exchange = await prepare(request, kind)
    try:
        if exchange.stream:
            upstream, events, first = await open_stream(exchange, request)
            response = RelayResponse(
                relay_sse(exchange, upstream, events, first), content_type="text/event-stream"
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
        else:
            data, upstream = await complete(exchange, request)
            finish_ok(exchange)
            response = json_response(data, upstream.status_code)
        for key, value in client_response_headers(upstream.headers).items():
            response[key] = value
        return response
    except GatewayError as exc:
        finish_error(exchange, exc)
        raise
    except asyncio.CancelledError:
        finish_cancelled(exchange)
        raise


@router.post("/chat/completions", openapi_extra=CHAT_REQUEST, summary="Chat completion")
async def chat_completions(request: HttpRequest) -> HttpResponse:
    return await proxy_openai(request, CHAT)


@router.post("/completions", openapi_extra=COMPLETION_REQUEST, summary="Text completion")
async def completions(request: HttpRequest) -> HttpResponse:
    return await proxy_openai(request, TEXT)


@router.get("/models", summary="Models of every upstream, plus route aliases")
async def models(request: HttpRequest) -> HttpResponse:
    return json_response(await catalog.list_models(request))
