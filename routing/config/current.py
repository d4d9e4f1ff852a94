"""Turns configuration rows into a frozen RuleSet and keeps every worker's copy fresh.

Requests read the in-memory RuleSet and never query the database. A change saved
anywhere bumps ConfigVersion; this process reloads at once, and every process
polls the version every CONFIG_POLL_SECONDS (one small query, not one per request).
"""

from __future__ import annotations

import asyncio
import logging
from types import MappingProxyType

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save

from routing.models import (
    ConfigVersion,
    GatewayKey,
    ModelMapping,
    Route,
    RouteTarget,
    Upstream,
    Workflow,
)
from routing.rules.engine import (
    KeySpec,
    MappingRule,
    RouteRule,
    RuleSet,
    Target,
    Transforms,
    UpstreamSpec,
    normalize_base_url,
)
from routing.rules.patterns import FROM_START, compile_model_pattern, parse_network
from routing.rules.rates import parse_rate

log = logging.getLogger(__name__)

_state: dict[str, RuleSet | bool | None] = {"rules": None, "stale": True}


def default_transforms() -> Transforms:
    return Transforms(
        think=settings.STRIP_THINKING,
        no_think=settings.DISABLE_THINKING,
        json_fence=settings.STRIP_JSON_MARKDOWN,
    )


def default_upstreams() -> list[UpstreamSpec]:
    """DEFAULT_UPSTREAM: one URL (named "default") or several ("default", "default-2", …)."""
    urls = [normalize_base_url(u) for u in settings.DEFAULT_UPSTREAM.split(",") if u.strip()]
    return [
        UpstreamSpec("default" if i == 0 else f"default-{i + 1}", url, settings.OPENAI_API_KEY)
        for i, url in enumerate(urls)
    ]


def default_upstream() -> UpstreamSpec:
    return default_upstreams()[0]


def upstream_spec(row: Upstream, default: UpstreamSpec) -> UpstreamSpec:
    base_url = normalize_base_url(row.base_url)
    # OPENAI_API_KEY belongs to the default upstream only; never send it elsewhere.
    key = row.api_key or (default.api_key if base_url == default.base_url else "")
    return UpstreamSpec(
        row.name,
        base_url,
        key,
        row.timeout,
        key_overrides=bool(row.api_key),
        max_concurrency=row.max_concurrency,
        api=row.api,
    )


def read_version() -> int:
    row = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return row or 0


def build_rules() -> RuleSet:
    """Read every enabled row once and compile it (sync: call from a thread in async code)."""
    version = read_version()  # read first: a change racing this load is seen by the next poll
    defaults = default_upstreams()
    default = defaults[0]
    upstreams = {u.pk: upstream_spec(u, default) for u in Upstream.objects.filter(enabled=True)}
    routes = []
    rows = Route.objects.filter(enabled=True).order_by("position", "id").prefetch_related("targets")
    for row in rows:
        targets = tuple(
            Target(upstreams[t.upstream_id], t.model, t.weight)
            for t in row.targets.all()
            if t.upstream_id in upstreams
        )
        if row.targets.all() and not targets:
            continue  # every target's upstream is disabled
        if not targets and row.upstream_id is not None and row.upstream_id not in upstreams:
            continue  # its upstream is disabled
        routes.append(
            RouteRule(
                name=row.name or f"route {row.pk}",
                model=compile_model_pattern(row.match_model) if row.match_model else None,
                network=parse_network(row.match_source) if row.match_source else None,
                upstream=upstreams.get(row.upstream_id),
                rewrite=row.rewrite_model,
                think=row.strip_thinking or None,
                no_think=row.disable_thinking,
                json_fence=row.strip_json_markdown,
                cache=row.cache,
                cache_tool_calls=row.cache_tool_calls,
                reasoning_effort=row.reasoning_effort,
                targets=targets,
                strategy=row.strategy,
            )
        )
    exact: dict[str, str] = {}
    regex: list[MappingRule] = []
    for row in ModelMapping.objects.filter(enabled=True).order_by("position", "id"):
        pattern = compile_model_pattern(row.pattern, FROM_START)
        if pattern.exact is not None:
            exact.setdefault(pattern.exact, row.replacement)
        else:
            regex.append(MappingRule(pattern, row.replacement))
    return RuleSet(
        default_upstream=default,
        routes=tuple(routes),
        exact_map=MappingProxyType(exact),
        regex_map=tuple(regex),
        transforms=default_transforms(),
        version=version,
        workflow_ports=MappingProxyType(
            dict(Workflow.objects.filter(port__isnull=False).values_list("port", "name"))
        ),
        gateway_keys=MappingProxyType(
            {row.key_hash: key_spec(row) for row in GatewayKey.objects.filter(enabled=True)}
        ),
        default_targets=tuple(Target(u) for u in defaults) if len(defaults) > 1 else (),
        default_strategy=settings.DEFAULT_STRATEGY,
    )


def key_spec(row: GatewayKey) -> KeySpec:
    patterns = tuple(
        compile_model_pattern(line) for line in row.allowed_models.splitlines() if line.strip()
    )
    return KeySpec(
        name=row.name,
        allowed=patterns,
        rate=parse_rate(row.rate_limit) if row.rate_limit else None,
        own_rate=bool(row.rate_limit),
        expires_at=row.expires_at.timestamp() if row.expires_at else None,
        manage_models=row.manage_models,
    )


async def reload_rules() -> RuleSet:
    rules = await sync_to_async(build_rules, thread_sensitive=False)()
    _state["rules"], _state["stale"] = rules, False
    return rules


async def current_rules() -> RuleSet:
    rules = _state["rules"]
    if rules is None or _state["stale"]:
        rules = await reload_rules()
    return rules


def loaded_rules() -> RuleSet:
    """The rules this process works with (for pages, from sync code; loaded if need be)."""
    rules = _state["rules"]
    return rules if rules is not None and not _state["stale"] else build_rules()


def invalidate_rules() -> None:
    """Make this process reload before its next request (other processes poll)."""
    _state["stale"] = True


def bump_version() -> None:
    updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    invalidate_rules()


def _on_config_change(**kwargs: object) -> None:
    transaction.on_commit(bump_version)


for _model in (Upstream, Route, RouteTarget, ModelMapping, Workflow, GatewayKey):
    post_save.connect(_on_config_change, sender=_model, dispatch_uid=f"bump-{_model.__name__}")
    post_delete.connect(_on_config_change, sender=_model, dispatch_uid=f"del-{_model.__name__}")


async def watch_config_version(interval: float | None = None) -> None:
    """Poll the version forever and reload when another process changed something."""
    interval = interval or settings.CONFIG_POLL_SECONDS
    while True:
        await asyncio.sleep(interval)
        try:
            version = await sync_to_async(read_version, thread_sensitive=False)()
            rules = _state["rules"]
            if rules is None or version != rules.version:
                await reload_rules()
                if rules is not None:
                    log.info("configuration version %s loaded", version)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be briefly unavailable: keep the rules we have
            log.warning("could not check the configuration version", exc_info=True)
