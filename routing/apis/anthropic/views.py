"""Thin ninja views of Anthropic's Messages API, served by any upstream behind the gateway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.anthropic.formats import (
    MessagesFormat,
    NativeFormat,
    counted_usage,
    message_id,
)
from routing.apis.anthropic.reply import PING, event, whole_message
from routing.apis.anthropic.request import Asked, chat_request
from routing.apis.anthropic.translate_native import completion_of, usage_of
from routing.apis.anthropic.upstream import (
    COUNT_PATH,
    NATIVE,
    builder,
    is_native,
    native_request,
)
from routing.apis.ollama.request import strip_unsupported
from routing.config.current import current_rules
from routing.core.errors import ModelNotAllowedError
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse, json_response
from routing.guard import cache
from routing.guard.access import admit
from routing.guard.validation import check_messages, check_sampling, parse_json_object
from routing.pipeline.answer import add_answer_headers
from routing.pipeline.calls import (
    complete,
    deliver,
    finish_ok,
    open_stream,
    row_finished_on_failure,
)
from routing.pipeline.intake import admit_exchange, begin, prepare
from routing.pipeline.relay import relay, replay
from routing.rules.engine import UpstreamSpec, decide
from routing.streams import tokens
from routing.streams.chunks import CHAT
from routing.upstreams.client import get_client

router = Router(tags=["Anthropic"])
log = logging.getLogger(__name__)


def sse_response(source: AsyncIterator[bytes]) -> RelayResponse:
    """Pings keep the stream open while the upstream is silent, as Anthropic's own do."""
    heartbeat = (settings.ANTHROPIC_PING_SECONDS, event(PING))
    response = RelayResponse(source, heartbeat, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def show_thinking_only_when_asked(exchange: Exchange, asked: Asked) -> None:
    """Think tags never reach a client that did not ask for thinking, whatever the route."""
    transforms = exchange.decision.transforms
    if asked.thinking is None and transforms.think == "keep":
        transforms = replace(transforms, think="strip")
        exchange.decision = replace(exchange.decision, transforms=transforms)


Answer = tuple[HttpResponse, httpx.Response | None]  # and the upstream's, for its headers


async def streamed(exchange: Exchange, asked: Asked, body: dict, stored: dict | None) -> Answer:
    if stored is not None:
        chunks = cache.stream_chunks(stored, CHAT, with_usage=False)
        return sse_response(replay(exchange, chunks, MessagesFormat(exchange, asked))), None
    upstream, events, first = await open_stream(exchange, builder(body))
    if is_native(exchange):
        exchange.hide_usage = False  # its usage is in the events the client reads
        out = NativeFormat(exchange)
    else:
        out = MessagesFormat(exchange, asked)
    return sse_response(relay(exchange, upstream, events, first, out)), upstream


async def whole(exchange: Exchange, asked: Asked, body: dict, stored: dict | None) -> Answer:
    if stored is not None:
        exchange.reply.feed_completion(stored)
        data, upstream = stored, None
    else:
        data, upstream = await complete(exchange, builder(body))
        if is_native(exchange):  # relayed as it is; read back for the log and the capture
            exchange.usage = usage_of(data.get("usage"))
            exchange.reply.feed_completion(completion_of(data))
            response = json_response(data, upstream.status_code)
            deliver(exchange, response.content)
            finish_ok(exchange)
            return response, upstream
        exchange.completion = data
    usage = await counted_usage(exchange)
    response = json_response(whole_message(data, asked, message_id(exchange), usage))
    deliver(exchange, response.content)
    finish_ok(exchange)
    return response, upstream


@router.post("/messages", summary="Create a message (Anthropic Messages API)")
async def messages(request: HttpRequest) -> HttpResponse:
    exchange = begin(request, "anthropic", CHAT)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        body = parse_json_object(exchange.raw_request)
        openai_body, asked = chat_request(body)
        if asked.dropped_tools:
            log.info("tools only Anthropic can run, left out: %s", ", ".join(asked.dropped_tools))
        check_messages(openai_body["messages"])
        check_sampling(openai_body)
        await prepare(exchange, request, openai_body, asked.thinking)
        show_thinking_only_when_asked(exchange, asked)
        strip_unsupported(exchange.body, exchange.decision.upstream.base_url)
        stored = await cache.consult(exchange, request.headers)
        answer = streamed if asked.stream else whole
        response, upstream = await answer(exchange, asked, body, stored)
        return add_answer_headers(response, exchange, upstream)


def count_input(body: dict, model: str) -> int:
    """Prompt tokens of a translated body, its tool definitions included."""
    count = tokens.count_prompt(body, model)
    if body.get("tools"):
        count += tokens.count_text(orjson.dumps(body["tools"]).decode(), model)
    return count


async def upstream_count(
    upstream: UpstreamSpec, headers: list[tuple[str, str]], body: dict, model: str
) -> int | None:
    """An upstream that speaks Messages counts with its own tokenizer, when it answers."""
    outgoing = {k: v for k, v in body.items() if k != "workflow_id"}
    outgoing["model"] = model
    request = native_request(upstream, headers, COUNT_PATH, orjson.dumps(outgoing))
    try:
        response = await get_client().send(request)
        counted = response.json().get("input_tokens") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:  # the gateway counts instead
        log.info("upstream token count failed, counting here: %s", exc)
        return None
    return counted if isinstance(counted, int) else None


@router.post("/messages/count_tokens", summary="Count the input tokens of a message")
async def count_tokens(request: HttpRequest) -> HttpResponse:
    """Claude Code compacts its context by this count: never a made-up number."""
    admission = await admit(request)
    body = parse_json_object(request.body)
    openai_body, asked = chat_request({**body, "max_tokens": 1})
    if admission.key is not None and not admission.key.allows(asked.model):
        raise ModelNotAllowedError(
            f"This gateway key may not use the model {asked.model!r}.", param="model"
        )
    decision = decide(await current_rules(), asked.model, admission.client)
    upstream = decision.upstream
    if upstream.api == NATIVE:
        counted = await upstream_count(upstream, admission.headers, body, decision.model)
        if counted is not None:
            return json_response({"input_tokens": counted})
    counted = await asyncio.to_thread(count_input, openai_body, decision.model)
    return json_response({"input_tokens": counted})
