"""Responses requests for upstreams that speak the Responses API: handed over untranslated.

Only when every target of the route speaks it (every upstream speaks chat completions, so
a mixed route is translated for all). The upstream keeps the state: the gateway remembers
which upstream made a stored response and forwards retrieval, deletion and input items
there. A conversation stored here is sent along as input items.
"""

from __future__ import annotations

from time import perf_counter

import httpx
import orjson
from django.http import HttpRequest, HttpResponse

from routing.apis.responses.request import ResponsesRequest
from routing.apis.responses.store import Stored, store
from routing.apis.responses.translate_tools import flat_name
from routing.apis.responses.turn import stored_row
from routing.config.current import current_rules
from routing.core.errors import UpstreamTimeoutError, UpstreamUnreachableError
from routing.core.exchange import Exchange
from routing.core.responses import RelayResponse, json_response
from routing.pipeline.calls import complete, deliver, finish_ok, open_stream
from routing.pipeline.relay import relay
from routing.rules.engine import Decision, Target
from routing.streams.sse import SSEEvent
from routing.upstreams.client import build_request, client_response_headers, get_client

PATH = "/v1/responses"
FINISH = {"completed": "stop", "incomplete": "length", "failed": "error"}


def speaks_responses(decision: Decision) -> bool:
    targets = decision.targets or (Target(decision.upstream),)
    return all(target.upstream.api == "responses" for target in targets)


def native_body(exchange: Exchange, request: ResponsesRequest, previous: Stored | None) -> dict:
    body = {k: v for k, v in request.body.items() if k != "workflow_id"}
    body["model"] = exchange.decision.model
    if previous is not None and previous.response is not None:  # stored here, not there
        body.pop("previous_response_id", None)
        body["input"] = [*previous.history, *request.items]
    return body


def note_event(exchange: Exchange, event: dict) -> str | None:
    """Take what the log needs from one event (text, calls, usage); the response id if
    the event names it."""
    kind = event.get("type")
    if kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
        exchange.first_token_at = exchange.first_token_at or perf_counter()
        exchange.reply.content.append(event["delta"])
    elif kind == "response.output_item.done" and isinstance(event.get("item"), dict):
        note_call(exchange, event["item"])
    response = event.get("response")
    if not isinstance(response, dict):
        return None
    if kind in ("response.completed", "response.incomplete", "response.failed"):
        note_usage(exchange, response)
    return response.get("id") if isinstance(response.get("id"), str) else None


def note_call(exchange: Exchange, item: dict) -> None:
    if item.get("type") != "function_call":
        return
    name = flat_name(str(item.get("name", "")), item.get("namespace"))
    exchange.reply.tool_calls[len(exchange.reply.tool_calls)] = {
        "id": item.get("call_id", ""),
        "type": "function",
        "function": {"name": name, "arguments": item.get("arguments", "")},
    }


def note_usage(exchange: Exchange, response: dict) -> None:
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    prompt, done = usage.get("input_tokens"), usage.get("output_tokens")
    if isinstance(prompt, int) and isinstance(done, int):
        exchange.usage = {"prompt_tokens": prompt, "completion_tokens": done}
    finish = FINISH.get(response.get("status"), "stop")
    exchange.reply.finish_reason = (
        "tool_calls" if finish == "stop" and exchange.reply.tool_calls else finish
    )


def keep_pointer(exchange: Exchange, owner: str, response_id: str | None, keep: bool) -> None:
    """Remember which upstream keeps this response (and for whom)."""
    if not keep or not response_id:
        return
    row = stored_row(exchange, owner, {"id": response_id, "status": "completed"}, [])
    store.keep({**row, "upstream": exchange.decision.upstream.name[:100], "response": None})


class NativeFormat:
    """The upstream's own events, passed on as they come (noted for the log)."""

    def __init__(self, exchange: Exchange, owner: str, keep: bool) -> None:
        self.exchange, self.owner, self.keep = exchange, owner, keep
        self.response_id: str | None = None

    def chunk(self, chunk: dict) -> bytes | None:
        self.response_id = note_event(self.exchange, chunk) or self.response_id
        kind = str(chunk.get("type", "message")).encode()
        return b"event: " + kind + b"\ndata: " + orjson.dumps(chunk) + b"\n\n"

    def upstream_error(self, event: SSEEvent, error: object) -> bytes:
        return event.encode()

    def error(self, message: str, code: str) -> bytes:
        event = {"type": "error", "code": code, "message": message, "param": None}
        return b"event: error\ndata: " + orjson.dumps(event) + b"\n\n"

    async def done(self, exchange: Exchange) -> bytes:
        keep_pointer(exchange, self.owner, self.response_id, self.keep)
        return b""


async def hand_over(
    exchange: Exchange, request: ResponsesRequest, previous: Stored | None, owner: str
) -> HttpResponse:
    """Send the request untranslated to the route's Responses-speaking upstream."""
    exchange.body = native_body(exchange, request, previous)
    exchange.upstream_path = PATH
    if exchange.stream:
        upstream, events, first = await open_stream(exchange)
        source = relay(
            exchange, upstream, events, first, NativeFormat(exchange, owner, request.store)
        )
        response: HttpResponse = RelayResponse(source, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
    else:
        data, upstream = await complete(exchange)
        for item in data.get("output") or ():
            if isinstance(item, dict) and item.get("type") == "message":
                texts = [p.get("text") for p in item.get("content") or () if isinstance(p, dict)]
                exchange.reply.content += [t for t in texts if isinstance(t, str)]
            elif isinstance(item, dict):
                note_call(exchange, item)
        response_id = note_event(exchange, {"type": "response.completed", "response": data})
        keep_pointer(exchange, owner, response_id, request.store)
        response = json_response(data, upstream.status_code)
        deliver(exchange, response.content)
        finish_ok(exchange)
    for key, value in client_response_headers(upstream.headers).items():
        response[key] = value
    return response


async def forward(
    request: HttpRequest, headers: list[tuple[str, str]], stored: Stored, method: str, path: str
) -> HttpResponse:
    """A call about a response that an upstream keeps, made to that upstream."""
    rules = await current_rules()
    upstream = next((u for u in rules.upstreams if u.name == stored.upstream), None)
    if upstream is None:
        raise UpstreamUnreachableError(
            f"The upstream {stored.upstream!r} that keeps this response is not configured."
        )
    query = request.META.get("QUERY_STRING", "")
    outgoing = build_request(upstream, path + (f"?{query}" if query else ""), headers, None, method)
    try:
        answer = await get_client().send(outgoing)
    except httpx.TimeoutException:
        raise UpstreamTimeoutError(f"Upstream {upstream.name!r} did not answer in time.") from None
    except httpx.TransportError as exc:
        raise UpstreamUnreachableError(f"Cannot reach upstream {upstream.name!r}: {exc}") from None
    response = HttpResponse(
        answer.content,
        status=answer.status_code,
        content_type=answer.headers.get("content-type", "application/json"),
    )
    for key, value in client_response_headers(answer.headers).items():
        response[key] = value
    return response
