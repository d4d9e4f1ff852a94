"""Thin ninja views of the OpenAI-compatible endpoints."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing import catalog
from routing.chunks import CHAT, TEXT
from routing.errors import GatewayError
from routing.intake import begin, openai_body, prepare
from routing.pipeline import (
    complete,
    deliver,
    finish_cancelled,
    finish_error,
    finish_ok,
    open_stream,
)
from routing.relay import SSEFormat, relay
from routing.responses import RelayResponse, json_response
from routing.schemas import CHAT_REQUEST, COMPLETION_REQUEST
from routing.upstream import client_response_headers

router = Router(tags=["OpenAI"])


async def proxy_openai(request: HttpRequest, kind: str) -> HttpResponse:
    exchange = begin(request, "openai", kind)
    try:
        await prepare(exchange, request, openai_body(exchange))
        if exchange.stream:
            upstream, events, first = await open_stream(exchange)
            response = RelayResponse(
                relay(exchange, upstream, events, first, SSEFormat()),
                content_type="text/event-stream",
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
        else:
            data, upstream = await complete(exchange)
            response = json_response(data, upstream.status_code)
            deliver(exchange, response.content)
            finish_ok(exchange)
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
