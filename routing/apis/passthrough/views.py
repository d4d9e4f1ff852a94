"""Thin ninja views of the pass-through: every other /v1 path (on its own API object,
mounted after every specific /v1 route), and Ollama's model management."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.passthrough.body import read_outgoing
from routing.apis.passthrough.destination import cacheable, route
from routing.apis.passthrough.forward import (
    PassthroughStatusError,
    relay_response,
    relayed_error,
    send_on,
    upstream_path,
)
from routing.apis.passthrough.manage import manage
from routing.core.body import STREAMED_BODY
from routing.core.exchange import PASSTHROUGH
from routing.core.responses import json_response
from routing.guard import cache
from routing.pipeline.calls import deliver, finish_ok, row_finished_on_failure
from routing.pipeline.intake import admit_exchange, begin

router = Router(tags=["Pass-through"])
manage_router = Router(tags=["Ollama"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def forward(request: HttpRequest, path: str) -> HttpResponse:
    exchange = begin(request, "openai", PASSTHROUGH)
    exchange.details = {"method": request.method, "path": path}
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        outgoing = await read_outgoing(request)
        await route(exchange, request, outgoing)
        if cacheable(exchange, request, outgoing):
            stored = await cache.consult(exchange, request.headers)
            if stored is not None:
                response = json_response(stored)
                deliver(exchange, response.content)
                finish_ok(exchange)
                response["X-Cache"] = "HIT"
                return response
        try:
            upstream = await send_on(exchange, outgoing, upstream_path(request, path))
        except PassthroughStatusError as error:
            return relayed_error(exchange, error)
        return relay_response(exchange, upstream, outgoing)


@router.api_operation(
    METHODS, "/{path:rest}", url_name=STREAMED_BODY, summary="Any other path, forwarded"
)
async def passthrough(request: HttpRequest, rest: str) -> HttpResponse:
    return await forward(request, "/v1/" + rest)


@manage_router.post("/pull", summary="Ollama: pull a model (forwarded)")
async def pull(request: HttpRequest) -> HttpResponse:
    return await manage(request, "/api/pull")


@manage_router.post("/push", summary="Ollama: push a model (forwarded)")
async def push(request: HttpRequest) -> HttpResponse:
    return await manage(request, "/api/push")


@manage_router.post("/create", summary="Ollama: create a model (forwarded)")
async def create(request: HttpRequest) -> HttpResponse:
    return await manage(request, "/api/create")


@manage_router.post("/copy", summary="Ollama: copy a model (forwarded)")
async def copy(request: HttpRequest) -> HttpResponse:
    return await manage(request, "/api/copy")


@manage_router.delete("/delete", summary="Ollama: delete a model (forwarded)")
async def delete(request: HttpRequest) -> HttpResponse:
    return await manage(request, "/api/delete")
