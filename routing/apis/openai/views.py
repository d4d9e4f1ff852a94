"""Thin ninja views of the OpenAI-compatible endpoints."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.openai.schemas import CHAT_REQUEST, COMPLETION_REQUEST
from routing.core.responses import RelayResponse, json_response
from routing.guard import cache
from routing.guard.access import admit
from routing.pipeline.answer import add_answer_headers, streamed_reply, whole_reply
from routing.pipeline.calls import (
    deliver,
    finish_ok,
    row_finished_on_failure,
)
from routing.pipeline.intake import admit_exchange, begin, openai_body, prepare
from routing.pipeline.relay import SSEFormat
from routing.pipeline.usage import fill_usage
from routing.streams.chunks import CHAT, TEXT
from routing.upstreams import catalog

router = Router(tags=["OpenAI"])


def sse_response(source) -> RelayResponse:
    response = RelayResponse(source, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def proxy_openai(request: HttpRequest, kind: str) -> HttpResponse:
    exchange = begin(request, "openai", kind)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        await prepare(exchange, request, openai_body(exchange))
        stored = await cache.consult(exchange, request.headers)
        if exchange.stream:
            out = SSEFormat()
            source, upstream = await streamed_reply(exchange, stored, out, not exchange.hide_usage)
            response = sse_response(source)
        else:
            data, upstream = await whole_reply(exchange, stored)
            await fill_usage(exchange, data)
            response = json_response(data, upstream.status_code if upstream else 200)
            deliver(exchange, response.content)
            finish_ok(exchange)
        return add_answer_headers(response, exchange, upstream)


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
