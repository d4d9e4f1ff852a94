"""Ollama's model management (pull, push, create, copy, delete) forwarded to the Ollama
behind the gateway (OLLAMA_UPSTREAM_URL), its progress streamed back as it comes."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from routing.apis.passthrough.body import read_outgoing
from routing.apis.passthrough.forward import (
    PassthroughStatusError,
    open_upstream,
    relay_response,
    relayed_error,
)
from routing.core import hooks
from routing.core.errors import GatewayError, UpstreamTimeoutError, UpstreamUnreachableError
from routing.core.exchange import PASSTHROUGH, Exchange
from routing.pipeline.calls import row_finished_on_failure
from routing.pipeline.intake import admit_exchange, begin
from routing.rules.engine import Decision, Target, Transforms, UpstreamSpec, normalize_base_url


class ManagementForbiddenError(GatewayError):
    status = 403
    type = "permission_error"
    code = "model_management_not_allowed"


class NoOllamaError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "no_ollama"


def check_may_manage(exchange: Exchange) -> None:
    """A gateway key needs its "may manage models" switch; without a key, the call got
    here only because keys are not required."""
    key = exchange.key
    if key is not None and not key.manage_models:
        raise ManagementForbiddenError(
            f"The gateway key {key.name!r} may not manage models: allow it in the admin "
            "(Gateway keys, may manage models)."
        )


def ollama_decision(model: str) -> Decision:
    upstream = UpstreamSpec("ollama", normalize_base_url(settings.OLLAMA_UPSTREAM_URL))
    return Decision(upstream, model, Transforms(), targets=(Target(upstream),))


async def manage(request: HttpRequest, path: str) -> HttpResponse:
    exchange = begin(request, "ollama", PASSTHROUGH)
    exchange.details = {"method": request.method, "path": path}
    with row_finished_on_failure(exchange):
        await admit_exchange(exchange, request)
        check_may_manage(exchange)
        outgoing = await read_outgoing(request)
        named = outgoing.json or {}
        model = next(
            (v for k in ("model", "name", "source") if isinstance(v := named.get(k), str)), ""
        )
        exchange.model_in = model
        exchange.decision = ollama_decision(model)
        exchange.client_body = named
        exchange.raw_request = bytes(outgoing.head)
        hooks.announce_started(exchange)
        try:
            upstream = await open_upstream(exchange, outgoing, path)
        except PassthroughStatusError as error:
            return relayed_error(exchange, error)
        except (UpstreamUnreachableError, UpstreamTimeoutError):
            raise NoOllamaError(
                "Model management needs an Ollama behind the gateway, and none answers at "
                f"OLLAMA_UPSTREAM_URL ({exchange.decision.upstream.base_url})."
            ) from None
        exchange.bytes_in = outgoing.size
        return relay_response(exchange, upstream, outgoing)
