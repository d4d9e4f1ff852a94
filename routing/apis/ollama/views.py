"""Thin ninja views of the Ollama-compatible API, served from OpenAI-compatible upstreams."""

from __future__ import annotations

from time import perf_counter

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.ollama import catalog as ollama_catalog
from routing.apis.ollama.reply import OllamaReply, Timings, error_line, ndjson, now_rfc3339
from routing.apis.ollama.request import (
    chat_request,
    generate_request,
    strip_unsupported,
    think_setting,
)
from routing.core.errors import BadRequestError
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse, json_response
from routing.guard import cache
from routing.guard.access import admit
from routing.guard.validation import check_messages, check_sampling, parse_json_object
from routing.pipeline.answer import add_answer_headers, streamed_reply, whole_reply
from routing.pipeline.calls import (
    deliver,
    finish_ok,
    row_finished_on_failure,
)
from routing.pipeline.intake import admit_exchange, begin, prepare
from routing.pipeline.usage import usage_counts
from routing.streams.chunks import CHAT
from routing.streams.sse import SSEEvent

router = Router(tags=["Ollama"])
NDJSON = "application/x-ndjson"


def timings(exchange: Exchange, counts: tuple[int, int]) -> Timings:
    return Timings(
        exchange.started, exchange.first_token_at, exchange.finished_at or perf_counter(), *counts
    )


class NDJSONFormat:
    """Ollama's stream: one JSON line per piece, then exactly one `done: true` line."""

    def __init__(self, reply: OllamaReply) -> None:
        self.reply = reply

    def chunk(self, chunk: dict) -> bytes | None:
        line = self.reply.chunk_line(chunk)
        return ndjson(line) if line is not None else None

    def upstream_error(self, event: SSEEvent, error: object) -> bytes:
        message = error.get("message") if isinstance(error, dict) else error
        return error_line(str(message or "upstream error"))

    def error(self, message: str, code: str) -> bytes:
        return error_line(message)

    async def done(self, exchange: Exchange) -> bytes:
        counts = await usage_counts(exchange)
        lines = b""
        if exchange.reply.tool_calls:
            calls = [exchange.reply.tool_calls[i] for i in sorted(exchange.reply.tool_calls)]
            lines += ndjson(self.reply.tool_call_line(calls))
        final = self.reply.final_line(
            exchange.reply.finish_reason or "stop", timings(exchange, counts)
        )
        return lines + ndjson(final)


async def proxy_ollama(request: HttpRequest, chat: bool) -> HttpResponse:
    exchange = begin(request, "ollama", CHAT)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        body = parse_json_object(exchange.raw_request)
        if chat:
            openai_body = chat_request(body)
            check_messages(openai_body["messages"])
        else:
            openai_body, exchange.kind = generate_request(body)
            if body.get("prompt") == "" and not body.get("images"):
                return json_response(loaded(body["model"]))
        check_sampling(openai_body)
        await prepare(exchange, request, openai_body, think_setting(body))
        strip_unsupported(exchange.body, exchange.decision.upstream.base_url)
        reply = OllamaReply(exchange.model_in, chat=chat)
        stored = await cache.consult(exchange, request.headers)
        if exchange.stream:
            out = NDJSONFormat(reply)
            source, _ = await streamed_reply(exchange, stored, out, with_usage=False)
            response = RelayResponse(source, content_type=NDJSON)
        else:
            data, _ = await whole_reply(exchange, stored)
            finish_ok(exchange)
            counts = await usage_counts(exchange)
            response = json_response(reply.whole(data, timings(exchange, counts)))
            deliver(exchange, response.content)
        return add_answer_headers(response, exchange, None)


def loaded(model: str) -> dict:
    """Ollama's answer to an empty prompt: the model is loaded, nothing is generated."""
    return {
        "model": model,
        "created_at": now_rfc3339(),
        "response": "",
        "done": True,
        "done_reason": "load",
    }


@router.post("/chat", summary="Ollama chat")
async def chat(request: HttpRequest) -> HttpResponse:
    return await proxy_ollama(request, chat=True)


@router.post("/generate", summary="Ollama generate")
async def generate(request: HttpRequest) -> HttpResponse:
    return await proxy_ollama(request, chat=False)


@router.get("/tags", summary="Ollama model list")
async def tags(request: HttpRequest) -> HttpResponse:
    admission = await admit(request)
    return json_response(await ollama_catalog.tags(request, admission.headers))


@router.post("/show", summary="Ollama model details")
async def show(request: HttpRequest) -> HttpResponse:
    admission = await admit(request)
    body = parse_json_object(request.body)
    name = body.get("model") or body.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequestError("model is required", param="model")
    return json_response(await ollama_catalog.show(admission.headers, name))


@router.get("/ps", summary="Ollama running models")
async def ps(request: HttpRequest) -> HttpResponse:
    admission = await admit(request)
    return json_response(await ollama_catalog.ps(admission.headers))


@router.get("/version", summary="Ollama version")
async def version(request: HttpRequest) -> HttpResponse:
    admission = await admit(request)
    return json_response(await ollama_catalog.version(admission.headers))
