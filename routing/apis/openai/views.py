"""Thin ninja views of the OpenAI-compatible endpoints."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.openai.schemas import CHAT_REQUEST, COMPLETION_REQUEST
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse, json_response
from routing.guard import cache
from routing.guard.access import admit
from routing.pipeline.calls import (
    complete,
    deliver,
    finish_ok,
    open_stream,
    row_finished_on_failure,
)
from routing.pipeline.intake import admit_exchange, begin, openai_body, prepare
from routing.pipeline.relay import SSEFormat, relay, replay
from routing.pipeline.usage import fill_usage
from routing.streams.chunks import CHAT, TEXT
from routing.upstreams import catalog
from routing.upstreams.client import client_response_headers

router = Router(tags=["OpenAI"])


def sse_response(source) -> RelayResponse:
    response = RelayResponse(source, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def from_cache(exchange: Exchange, stored: dict) -> HttpResponse:
    """A stored answer, whole or replayed as a stream, without touching the upstream."""
    if not exchange.stream:
        response = json_response(stored)
        exchange.reply.feed_completion(stored)
        deliver(exchange, response.content)
        finish_ok(exchange)
        return response
    chunks = cache.stream_chunks(stored, exchange.kind, with_usage=not exchange.hide_usage)
    return sse_response(replay(exchange, chunks, SSEFormat()))


async def proxy_openai(request: HttpRequest, kind: str) -> HttpResponse:
    exchange = begin(request, "openai", kind)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        await prepare(exchange, request, openai_body(exchange))
        stored = await cache.consult(exchange, request.headers)
        if stored is not None:
            response = from_cache(exchange, stored)
        elif exchange.stream:
            upstream, events, first = await open_stream(exchange)
            response = sse_response(relay(exchange, upstream, events, first, SSEFormat()))
        else:
            data, upstream = await complete(exchange)
            await fill_usage(exchange, data)
            response = json_response(data, upstream.status_code)
            exchange.completion = data
            deliver(exchange, response.content)
            finish_ok(exchange)
        if stored is None:
            for key, value in client_response_headers(upstream.headers).items():
                response[key] = value
        for key, value in cache.x_cache(exchange).items():
            response[key] = value
        return response


@router.post("/chat/completions", openapi_extra=CHAT_REQUEST, summary="Chat completion")
async def chat_completions(request: HttpRequest) -> HttpResponse:
    return await proxy_openai(request, CHAT)


@router.post("/completions", openapi_extra=COMPLETION_REQUEST, summary="Text completion")
async def completions(request: HttpRequest) -> HttpResponse:
    return await proxy_openai(request, TEXT)


@router.get("/models", summary="Models of every upstream, plus route aliases")
async def models(request: HttpRequest) -> HttpResponse:
    admission = await admit(request)
    return json_response(await catalog.list_models(request, admission.headers))


@router.get("/models/{path:model_id}", summary="One model of the list")
async def model(request: HttpRequest, model_id: str) -> HttpResponse:
    admission = await admit(request)
    return json_response(await catalog.find_model(request, admission.headers, model_id))
