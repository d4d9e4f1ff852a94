"""Ollama's model endpoints: from the Ollama upstream when it answers, else built here."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import httpx
import orjson
from django.conf import settings
from django.http import HttpRequest

from routing.config.current import current_rules
from routing.rules.engine import UpstreamSpec, normalize_base_url
from routing.upstreams.catalog import list_models
from routing.upstreams.client import build_request, get_client

log = logging.getLogger(__name__)
ASK_TIMEOUT = 2.0  # a missing Ollama must not slow the answer down
VERSION = "0.12.0"  # what Ollama clients check for when no Ollama upstream answers


def ollama_upstream() -> UpstreamSpec:
    return UpstreamSpec("ollama", normalize_base_url(settings.OLLAMA_UPSTREAM_URL))


async def ask_ollama(
    headers: list[tuple[str, str]], path: str, body: dict | None = None
) -> dict | None:
    """The Ollama upstream's JSON answer, or None when it is absent or says no."""
    content = orjson.dumps(body) if body is not None else None
    outgoing = build_request(
        ollama_upstream(),
        path,
        headers,
        content,
        method="POST" if body is not None else "GET",
    )
    outgoing.extensions["timeout"] = httpx.Timeout(ASK_TIMEOUT).as_dict()
    try:
        response = await get_client().send(outgoing)
        data = orjson.loads(response.content) if response.status_code == 200 else None
    except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
        log.debug("Ollama upstream unavailable for %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


def rfc3339(timestamp: object) -> str:
    moment = datetime.fromtimestamp(timestamp if isinstance(timestamp, int) else 0, UTC)
    return moment.isoformat().replace("+00:00", "Z")


def model_entry(name: str, created: object = 0) -> dict:
    """A model in Ollama's list shape; clients read `name` or `model`, so both are sent."""
    return {
        "name": name,
        "model": name,
        "modified_at": rfc3339(created),
        "size": 0,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {
            "parent_model": "",
            "format": "",
            "family": "",
            "families": None,
            "parameter_size": "",
            "quantization_level": "",
        },
    }


async def tags(request: HttpRequest, headers: list[tuple[str, str]]) -> dict:
    found = await ask_ollama(headers, "/api/tags")
    if found is not None and isinstance(found.get("models"), list):
        names = {m.get("name") or m.get("model") for m in found["models"] if isinstance(m, dict)}
        aliases = [model_entry(a) for a in (await current_rules()).aliases if a not in names]
        return {"models": [*found["models"], *aliases]}
    listed = await list_models(request, headers)
    models = {"models": [model_entry(m["id"], m.get("created")) for m in listed["data"]]}
    return {**models, "notice": listed["notice"]} if "notice" in listed else models


async def show(headers: list[tuple[str, str]], name: str) -> dict:
    found = await ask_ollama(headers, "/api/show", {"model": name})
    if found is not None:
        return found
    entry = model_entry(name)
    return {
        "modelfile": f"FROM {name}\n",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": entry["details"],
        "model_info": {"general.architecture": "", "general.basename": name},
        "capabilities": ["completion", "tools"],
        "modified_at": entry["modified_at"],
    }


async def ps(headers: list[tuple[str, str]]) -> dict:
    found = await ask_ollama(headers, "/api/ps")
    return found if found is not None and isinstance(found.get("models"), list) else {"models": []}


async def version(headers: list[tuple[str, str]]) -> dict:
    found = await ask_ollama(headers, "/api/version")
    return found if found is not None and "version" in found else {"version": VERSION}
