"""Where a pass-through request goes: its model (if it names one) through the routes and
the model map, the caller's key checked, the workflow of its port."""

from __future__ import annotations

from django.http import HttpRequest

from routing.apis.passthrough.body import Outgoing
from routing.config.current import current_rules
from routing.core import hooks
from routing.core.errors import BadRequestError, ModelNotAllowedError
from routing.core.exchange import Exchange
from routing.guard.validation import MAX_MODEL_LENGTH
from routing.pipeline.intake import DEFAULT_WORKFLOW, server_port
from routing.rules.engine import decide

# Deterministic answers to JSON questions: the only pass-through paths the cache keeps
# (a POST elsewhere may create something: a file, a batch, a job).
CACHED_PATHS = frozenset(
    {"/v1/rerank", "/v1/moderations", "/v1/tokenize", "/v1/detokenize", "/v1/score"}
)


def check_key(exchange: Exchange, model: str | None) -> None:
    """A key limited to some models may call only with one of them named."""
    key = exchange.key
    if key is None or not key.allowed:
        return
    if model is None:
        raise ModelNotAllowedError(
            "This gateway key may use only some models, and the request names none.",
            param="model",
        )
    if not key.allows(model):
        raise ModelNotAllowedError(
            f"This gateway key may not use the model {model!r}.", param="model"
        )


async def route(exchange: Exchange, request: HttpRequest, outgoing: Outgoing) -> None:
    """Decide the target and announce the request (its row starts here)."""
    rules = await current_rules()
    exchange.workflow = rules.workflow_ports.get(server_port(request), DEFAULT_WORKFLOW)
    model = outgoing.model
    if model is not None and len(model) > MAX_MODEL_LENGTH:
        raise BadRequestError(
            f"'model' is longer than {MAX_MODEL_LENGTH} characters.", param="model"
        )
    check_key(exchange, model)
    exchange.model_in = model or ""
    exchange.decision = decide(rules, model or "", exchange.client)
    exchange.body = {}
    exchange.client_body = outgoing.json or {}
    if outgoing.json is not None:
        exchange.raw_request = bytes(outgoing.head)  # JSON is logged (redacted) like chat
    hooks.announce_started(exchange)


def cacheable(exchange: Exchange, request: HttpRequest, outgoing: Outgoing) -> bool:
    return (
        request.method == "POST"
        and outgoing.json is not None
        and exchange.endpoint in CACHED_PATHS
        and not request.META.get("QUERY_STRING")
    )
