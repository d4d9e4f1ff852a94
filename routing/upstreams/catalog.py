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


async def list_models(request: HttpRequest, headers: list[tuple[str, str]]) -> dict:
    """The model list, asked with the client's headers (minus its gateway key)."""
    rules = await current_rules()
    upstreams = [u for u in rules.upstreams if health.ready(u.name)]
    results = await asyncio.gather(
        *(fetch_models(u, headers) for u in upstreams), return_exceptions=True
    )
    seen: dict[str, dict] = {}
    for upstream, result in zip(upstreams, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("model list of upstream %r unavailable: %s", upstream.name, result)
            continue
        for model in result:
            seen.setdefault(model["id"], model)
    if not seen and all(isinstance(r, BaseException) for r in results) and not rules.aliases:
        raise UpstreamUnreachableError("No upstream answered with its model list.")
    for alias in rules.aliases:
        seen.setdefault(
            alias, {"id": alias, "object": "model", "created": 0, "owned_by": "llmproxy"}
        )
    return {"object": "list", "data": list(seen.values())}


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
