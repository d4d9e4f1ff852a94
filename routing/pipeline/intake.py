"""From a client's request to an Exchange: parse, check, pick the workflow, decide the route."""

from __future__ import annotations

from dataclasses import replace
from time import perf_counter

from django.conf import settings
from django.http import HttpRequest

from routing.config.current import current_rules
from routing.core import hooks
from routing.core.errors import BadRequestError, ModelNotAllowedError
from routing.core.exchange import Exchange
from routing.guard.access import admit, client_ip
from routing.guard.validation import check_openai_body, parse_json_object, require_model
from routing.models import WORKFLOW_NAME
from routing.rules.engine import Decision, RuleSet, Transforms, UpstreamSpec, decide
from routing.streams.chunks import CHAT, TEXT
from routing.streams.transforms import add_no_think_to_messages, add_no_think_to_prompt

NO_DECISION = Decision(UpstreamSpec("", ""), "", Transforms())
DEFAULT_WORKFLOW = "default"


def begin(request: HttpRequest, service: str, kind: str) -> Exchange:
    """An Exchange for whatever happens next, so that even a refused request is recorded."""
    exchange = Exchange(
        service=service,
        endpoint=request.path,
        kind=kind,
        client=client_ip(request),
        model_in="",
        decision=NO_DECISION,
        stream=False,
        body={},
        raw_request=request.body,
        request_headers=list(request.headers.items()),
        started=request.scope.get("llmproxy.started", perf_counter()),
    )
    request.scope["llmproxy.exchange"] = exchange
    return exchange


async def admit_exchange(exchange: Exchange, request: HttpRequest) -> None:
    """Gateway key and rate limit (refusals are recorded like any failure)."""
    admission = await admit(request)
    exchange.request_headers = admission.headers
    exchange.gateway_key = admission.key.name if admission.key else ""
    exchange.key = admission.key


def openai_body(exchange: Exchange) -> dict:
    body = parse_json_object(exchange.raw_request)
    check_openai_body(body, exchange.kind)
    return body


def take_workflow(body: dict, rules: RuleSet, port: int | None) -> str:
    """`workflow_id` in the body (removed from it) beats the port the request came in on."""
    if "workflow_id" in body:
        name = body.pop("workflow_id")
        if not isinstance(name, str) or not WORKFLOW_NAME.fullmatch(name):
            raise BadRequestError(
                "'workflow_id' must be 1 to 64 letters, digits, '-' or '_'.", param="workflow_id"
            )
        return name
    return rules.workflow_ports.get(port, DEFAULT_WORKFLOW)


def server_port(request: HttpRequest) -> int | None:
    port = request.META.get("SERVER_PORT")
    return int(port) if isinstance(port, str) and port.isdigit() else None


def with_thinking(decision: Decision, think: bool | None) -> Decision:
    """A request's own choice (Ollama's `think`) over the route's: show it, or suppress it."""
    if think is None:
        return decision
    transforms = replace(
        decision.transforms,
        think="reasoning" if think else "strip",
        no_think=decision.transforms.no_think or not think,
    )
    return replace(decision, transforms=transforms)


async def prepare(
    exchange: Exchange, request: HttpRequest, body: dict, think: bool | None = None
) -> None:
    """Decide the route and build the upstream body from a checked client body."""
    rules = await current_rules()
    exchange.workflow = take_workflow(body, rules, server_port(request))
    exchange.model_in = require_model(body, settings.DEFAULT_MODEL)
    exchange.stream = bool(body.get("stream"))
    exchange.client_body = body
    if exchange.key is not None and not exchange.key.allows(exchange.model_in):
        raise ModelNotAllowedError(
            f"This gateway key may not use the model {exchange.model_in!r}.", param="model"
        )
    decision = with_thinking(decide(rules, exchange.model_in, exchange.client), think)
    exchange.decision = decision
    outgoing = {**body, "model": decision.model}
    if decision.transforms.no_think:
        if exchange.kind == CHAT:
            outgoing["messages"] = add_no_think_to_messages(outgoing["messages"])
        elif exchange.kind == TEXT:
            outgoing["prompt"] = add_no_think_to_prompt(outgoing["prompt"])
    if exchange.stream and settings.ENABLE_LOGGING:
        options = body.get("stream_options")
        options = options if isinstance(options, dict) else {}
        if options.get("include_usage") is not True:
            # Ask for token counts; the extra usage chunk is kept from the client.
            outgoing["stream_options"] = {**options, "include_usage": True}
            exchange.hide_usage = True
    exchange.body = outgoing
    hooks.announce_started(exchange)
