"""The model list: what the upstreams serve, plus the names that routes accept exactly."""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson
from django.http import HttpRequest

from routing.config.current import current_rules
from routing.core.errors import GatewayError, UpstreamUnreachableError
from routing.rules.engine import UpstreamSpec
from routing.upstreams.client import build_request, get_client
from routing.upstreams.health import health

log = logging.getLogger(__name__)
LIST_TIMEOUT = 10.0


async def fetch_models(upstream: UpstreamSpec, headers: list[tuple[str, str]]) -> list[dict]:
    """`/v1/models` of one upstream; raises httpx errors or ValueError on a bad answer."""
    request = build_request(upstream, "/v1/models", headers, method="GET")
    seconds = min(LIST_TIMEOUT, upstream.timeout or LIST_TIMEOUT)
    request.extensions["timeout"] = httpx.Timeout(seconds).as_dict()
    response = await get_client().send(request)
    response.raise_for_status()
    data = orjson.loads(response.content).get("data")
    if not isinstance(data, list):
        raise ValueError("no data list")
    return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


ALIASES_ONLY = "No upstream answered with its model list; these are the gateway's own aliases."


async def ask_upstreams(
    upstreams: list[UpstreamSpec], headers: list[tuple[str, str]]
) -> list[list[dict]]:
    """The model lists of those that answered (a failure is logged and left out)."""
    results = await asyncio.gather(
        *(fetch_models(u, headers) for u in upstreams), return_exceptions=True
    )
    answers = []
    for upstream, result in zip(upstreams, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("model list of upstream %r unavailable: %s", upstream.name, result)
        else:
            answers.append(result)
    return answers


async def list_models(request: HttpRequest, headers: list[tuple[str, str]]) -> dict:
    """The model list, asked with the client's headers (minus its gateway key).

    Upstreams in cooldown are asked only when none of the others answers, as chat tries
    them only then. When nobody answers, the route aliases are listed and `notice` says so;
    a 502 only when every upstream was asked, none answered and no alias exists.
    """
    rules = await current_rules()
    ready = [u for u in rules.upstreams if health.ready(u.name)]
    answers = await ask_upstreams(ready, headers)
    if not answers:
        resting = [u for u in rules.upstreams if u not in ready]
        answers = await ask_upstreams(resting, headers)
    if not answers and not rules.aliases:
        raise UpstreamUnreachableError("No upstream answered with its model list.")
    seen: dict[str, dict] = {}
    for model in (m for answer in answers for m in answer):
        seen.setdefault(model["id"], model)
    for alias in rules.aliases:
        seen.setdefault(
            alias, {"id": alias, "object": "model", "created": 0, "owned_by": "llmproxy"}
        )
    listed = {"object": "list", "data": list(seen.values())}
    return listed if answers else {**listed, "notice": ALIASES_ONLY}


class ModelNotFoundError(GatewayError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


async def find_model(request: HttpRequest, headers: list[tuple[str, str]], model_id: str) -> dict:
    """One model of the list (`GET /v1/models/{id}`), or a 404."""
    for model in (await list_models(request, headers))["data"]:
        if model["id"] == model_id:
            return model
    raise ModelNotFoundError(
        f"The model {model_id!r} does not exist or is not served here.", param="model"
    )
