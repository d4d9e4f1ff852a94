"""Thin ninja views of OpenAI's Responses API, served from chat-completions upstreams."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from ninja import Router

from routing.apis.responses import native
from routing.apis.responses.errors import ResponseNotFoundError
from routing.apis.responses.reply import Draft, whole_response
from routing.apis.responses.request import (
    ResponsesRequest,
    Translation,
    chat_request,
    read_request,
)
from routing.apis.responses.schemas import RESPONSE_REQUEST
from routing.apis.responses.store import Stored, store
from routing.apis.responses.translate_items import normalised
from routing.apis.responses.turn import SERVICE, ResponsesFormat, Turn, counted_usage, owner_of
from routing.config.current import current_rules
from routing.core.errors import BadRequestError
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse, json_response
from routing.guard import cache
from routing.guard.access import admit, client_ip
from routing.guard.validation import check_sampling, parse_json_object
from routing.pipeline.answer import add_answer_headers, streamed_reply, whole_reply
from routing.pipeline.calls import (
    deliver,
    finish_ok,
    row_finished_on_failure,
)
from routing.pipeline.intake import admit_exchange, begin, prepare
from routing.rules.engine import decide
from routing.streams.chunks import CHAT

log = logging.getLogger(__name__)
router = Router(tags=["Responses"])
PAGE_LIMIT = (1, 100, 20)  # input_items: lowest, highest, default


def sse_response(source) -> RelayResponse:
    response = RelayResponse(source, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def previous_of(request: ResponsesRequest, owner: str) -> Stored | None:
    if request.previous_response_id is None:
        return None
    found = await store.find(request.previous_response_id, owner)
    if found is None:
        raise ResponseNotFoundError(request.previous_response_id, "previous_response_id")
    return found


async def translated(
    exchange: Exchange, request: ResponsesRequest, previous: Stored | None
) -> Translation:
    """The chat body of the request. What cannot be translated (a file input, say) may
    still go to a route whose upstreams speak Responses: then the body is only the frame
    the log and the route need."""
    try:
        return chat_request(request, previous.history if previous is not None else [])
    except BadRequestError:
        rules = await current_rules()
        model = request.body.get("model")
        if not isinstance(model, str) or not native.speaks_responses(
            decide(rules, model, exchange.client)
        ):
            raise
        return Translation({"model": model, "messages": [], "stream": request.stream})


def start_turn(
    exchange: Exchange, request: ResponsesRequest, owner: str, previous: Stored | None
) -> Turn:
    base = exchange.id.hex
    draft = Draft(f"resp_{base}", int(time.time()), exchange.model_in, request.body)
    draft.summary = request.summary
    context = []  # what led to the response: kept only if the response is
    if request.store:
        history = previous.history if previous is not None else []
        context = [*history, *normalised(request.items, base)]
    return Turn(exchange, draft, context, owner, request.store)


def answer_whole(turn: Turn, data: dict) -> HttpResponse:
    response = whole_response(turn.draft, data, turn.exchange.usage)
    turn.keep(response)
    return json_response(response)


@router.post("/responses", openapi_extra=RESPONSE_REQUEST, summary="Create a model response")
async def create_response(request: HttpRequest) -> HttpResponse:
    exchange = begin(request, SERVICE, CHAT)
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        parsed = read_request(parse_json_object(exchange.raw_request))
        owner = owner_of(exchange.gateway_key, exchange.request_headers, exchange.client)
        previous = await previous_of(parsed, owner)
        translation = await translated(exchange, parsed, previous)
        check_sampling(translation.chat)
        await prepare(exchange, request, translation.chat, parsed.think())
        if native.speaks_responses(exchange.decision):
            return await native.hand_over(exchange, parsed, previous, owner)
        if previous is not None and previous.response is None:
            raise BadRequestError(
                f"The previous response is kept by the upstream {previous.upstream!r}, which "
                "this request's route does not go to.",
                param="previous_response_id",
            )
        if translation.dropped:
            log.info(
                "request %s: hosted tools left out (no upstream here runs them): %s",
                exchange.id,
                ", ".join(translation.dropped),
            )
        if exchange.decision.reasoning_effort and parsed.effort is not None:
            exchange.body["reasoning_effort"] = parsed.effort
        turn = start_turn(exchange, parsed, owner, previous)
        turn.draft.names = translation.names
        return await answer(turn, request)


async def answer(turn: Turn, request: HttpRequest) -> HttpResponse:
    """From the cache, or the upstream: whole, or streamed as Responses events."""
    exchange = turn.exchange
    stored = await cache.consult(exchange, request.headers)
    if exchange.stream:
        out = ResponsesFormat(turn)
        source, upstream = await streamed_reply(exchange, stored, out, with_usage=True)
        response = sse_response(source)
    else:
        data, upstream = await whole_reply(exchange, stored)
        finish_ok(exchange)
        await counted_usage(exchange)
        response = answer_whole(turn, data)
        deliver(exchange, response.content)
    return add_answer_headers(response, exchange, upstream)


async def found_for(request: HttpRequest, response_id: str) -> tuple[Stored, list]:
    """The caller's stored response (a 404 for anyone else's), and the headers to forward."""
    admission = await admit(request)
    key = admission.key.name if admission.key else ""
    owner = owner_of(key, admission.headers, client_ip(request))
    found = await store.find(response_id, owner)
    if found is None:
        raise ResponseNotFoundError(response_id)
    return found, admission.headers


@router.get("/responses/{response_id}", summary="Retrieve a stored response")
async def retrieve_response(request: HttpRequest, response_id: str) -> HttpResponse:
    if request.GET.get("stream") in ("true", "1"):
        raise BadRequestError("Stored responses are retrieved whole here.", param="stream")
    found, headers = await found_for(request, response_id)
    if found.response is None:
        return await native.forward(request, headers, found, "GET", f"/v1/responses/{found.id}")
    return json_response(found.response)


@router.delete("/responses/{response_id}", summary="Delete a stored response")
async def delete_response(request: HttpRequest, response_id: str) -> HttpResponse:
    found, headers = await found_for(request, response_id)
    owner = found.owner
    if found.response is None:
        answer = await native.forward(
            request, headers, found, "DELETE", f"/v1/responses/{found.id}"
        )
        if answer.status_code < 400:
            await store.delete(found.id, owner)
        return answer
    if not await store.delete(found.id, owner):
        raise ResponseNotFoundError(response_id)
    return json_response({"id": found.id, "object": "response", "deleted": True})


@router.get("/responses/{response_id}/input_items", summary="The items a response came from")
async def input_items(request: HttpRequest, response_id: str) -> HttpResponse:
    found, headers = await found_for(request, response_id)
    if found.response is None:
        path = f"/v1/responses/{found.id}/input_items"
        return await native.forward(request, headers, found, "GET", path)
    return json_response(page_of(found.context, request.GET))


def page_of(items: list[dict], query) -> dict:
    """One page of items, newest first unless `order=asc`, after the item `after`."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadRequestError("'order' must be asc or desc.", param="order")
    low, high, default = PAGE_LIMIT
    limit = query.get("limit", str(default))
    if not limit.isdigit() or not low <= int(limit) <= high:
        raise BadRequestError(f"'limit' must be from {low} to {high}.", param="limit")
    ordered = items if order == "asc" else items[::-1]
    start = 0
    if after := query.get("after"):
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise BadRequestError(f"No item {after[:100]!r} in this response.", param="after")
        start = len(ids) - ids[::-1].index(after)  # after its last use: pages always advance
    page = ordered[start : start + int(limit)]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": start + len(page) < len(ordered),
    }
