"""The routing configuration as a routes file (export), and a routes file into rows (import).

Exporting, importing the result into an empty database and exporting again gives
the same text. API keys are left out unless asked for: exports are often shared.
"""

from __future__ import annotations

import json

import yaml

from routing.config.loader import apply_config
from routing.models import ModelMapping, Route, Source, Upstream
from routing.rules.routes_file import FileConfig

THINK_OUT = {"strip": True, "keep": False, "reasoning": "reasoning"}


def _upstream(row: Upstream, with_secrets: bool) -> dict:
    item: dict = {"name": row.name, "url": row.base_url}
    if row.api_key and with_secrets:
        item["api_key"] = row.api_key
    if row.timeout is not None:
        item["timeout"] = row.timeout
    if row.max_concurrency is not None:
        item["max_concurrency"] = row.max_concurrency
    if row.api != "openai":
        item["api"] = row.api
    if not row.enabled:
        item["enabled"] = False
    return item


def _target(row) -> dict:
    item: dict = {"upstream": row.upstream.name}
    if row.model:
        item["model"] = row.model
    if row.weight != 1:
        item["weight"] = row.weight
    return item


def _route(row: Route) -> dict:
    item: dict = {}
    if row.name:
        item["name"] = row.name
    match = {k: v for k, v in (("model", row.match_model), ("source_host", row.match_source)) if v}
    target: dict = {}
    if row.upstream is not None:
        target["upstream"] = row.upstream.name
    if row.rewrite_model:
        target["model"] = row.rewrite_model
    if row.strip_thinking:
        target["strip_thinking"] = THINK_OUT[row.strip_thinking]
    for flag in ("disable_thinking", "strip_json_markdown", "cache"):
        if getattr(row, flag) is not None:
            target[flag] = getattr(row, flag)
    if row.cache_tool_calls:
        target["cache_tool_calls"] = True
    if row.reasoning_effort:
        target["reasoning_effort"] = True
    if row.strategy != "fallback":
        target["strategy"] = row.strategy
    targets = [_target(t) for t in row.targets.all()]
    if targets:
        target["targets"] = targets
    item["match"] = match
    item["route"] = target
    if not row.enabled:
        item["enabled"] = False
    return item


def export_config(with_secrets: bool = False) -> tuple[dict, list[str]]:
    """The whole configuration in the routes-file shape, and warnings for what was left out."""
    warnings = []
    upstreams = []
    for row in Upstream.objects.order_by("pk"):
        upstreams.append(_upstream(row, with_secrets))
        if row.api_key and not with_secrets:
            warnings.append(f"upstream {row.name!r}: API key left out (use --with-secrets)")
    routes = [
        _route(r)
        for r in Route.objects.select_related("upstream")
        .prefetch_related("targets__upstream")
        .order_by("position", "pk")
    ]
    model_map = {}
    for row in ModelMapping.objects.order_by("position", "pk"):
        if not row.enabled:
            warnings.append(f"model map {row.pattern!r}: disabled, left out")
            continue
        model_map.setdefault(row.pattern, row.replacement)
    config = {"upstreams": upstreams, "routes": routes, "model_map": model_map}
    return {k: v for k, v in config.items() if v}, warnings


def dump(config: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def import_config(config: FileConfig) -> bool:
    """Make the imported rows equal to `config` (rows from elsewhere are left alone)."""
    return apply_config(config, Source.IMPORT)
