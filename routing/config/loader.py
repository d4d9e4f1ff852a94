"""Loads MODEL_MAP and the routes file into the tables, replacing what they loaded before.

Rows made in the admin are left alone. Loading the same input twice changes
nothing (no row is rewritten, the configuration version does not move).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from routing.config.current import bump_version
from routing.models import ModelMapping, Route, RouteTarget, Source, Upstream
from routing.rules.engine import normalize_base_url
from routing.rules.patterns import PatternError, check_template, compile_model_pattern
from routing.rules.routes_file import ConfigFileError, FileConfig, is_url, load_text, parse_config

POSITION_STEP = 10


def read_config_file(path: Path) -> FileConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigFileError([f"{path}: cannot be read: {exc.strerror}"]) from None
    return parse_config(load_text(text, str(path)), str(path))


def model_map_config(model_map: dict[str, str]) -> list[tuple[str, str]]:
    problems = []
    for pattern, replacement in model_map.items():
        try:
            check_template(replacement, compile_model_pattern(pattern))
        except PatternError as exc:
            problems.append(f"MODEL_MAP[{pattern!r}]: {exc}")
    if problems:
        raise ConfigFileError(problems)
    return list(model_map.items())


def _upstream_name_for(url: str) -> str:
    parts = urlsplit(url)
    base = parts.netloc + parts.path.rstrip("/")
    name, n = base, 1
    while Upstream.objects.filter(name=name).exclude(base_url=url).exists():
        n += 1
        name = f"{base} ({n})"
    return name


def _resolve_upstream(ref: str, where: str) -> Upstream | None:
    if not ref:
        return None
    if is_url(ref):
        url = normalize_base_url(ref)
        found = Upstream.objects.filter(base_url=url).order_by("pk").first()
        if found is not None:
            return found
        return Upstream.objects.create(
            name=_upstream_name_for(url), base_url=url, source=Source.FILE
        )
    found = Upstream.objects.filter(name=ref).first()
    if found is None:
        raise ConfigFileError([f"{where}: no upstream is named {ref!r}"])
    return found


def _sync_upstreams(config: FileConfig, source: str) -> bool:
    changed = False
    for item in config.upstreams:
        values = {
            "base_url": item.url,
            "api_key": item.api_key,
            "timeout": item.timeout,
            "enabled": item.enabled,
            "max_concurrency": item.max_concurrency,
            "api": item.api,
        }
        row = Upstream.objects.filter(name=item.name).first()
        if row is None:
            Upstream.objects.create(name=item.name, source=source, **values)
            changed = True
        elif any(getattr(row, k) != v for k, v in values.items()):
            Upstream.objects.filter(pk=row.pk).update(**values)
            changed = True
    return changed


def _route_rows(config: FileConfig, source: str) -> list[tuple[Route, list[RouteTarget]]]:
    rows = []
    for i, item in enumerate(config.routes):
        where = f"routes[{i}].route.targets"
        targets = [
            RouteTarget(
                position=n,
                upstream=_resolve_upstream(t.upstream, f"{where}[{n}].upstream"),
                model=t.model,
                weight=t.weight,
            )
            for n, t in enumerate(item.targets)
        ]
        route = Route(
            position=(i + 1) * POSITION_STEP,
            name=item.name,
            enabled=item.enabled,
            match_model=item.model,
            match_source=item.source,
            upstream=_resolve_upstream(item.upstream, f"routes[{i}].route.upstream"),
            rewrite_model=item.rewrite,
            strip_thinking=item.strip_thinking,
            disable_thinking=item.disable_thinking,
            strip_json_markdown=item.strip_json_markdown,
            cache=item.cache,
            cache_tool_calls=item.cache_tool_calls,
            reasoning_effort=item.reasoning_effort,
            strategy=item.strategy,
            source=source,
        )
        rows.append((route, targets))
    return rows


ROUTE_FIELDS = (
    "position",
    "name",
    "enabled",
    "match_model",
    "match_source",
    "upstream_id",
    "rewrite_model",
    "strip_thinking",
    "disable_thinking",
    "strip_json_markdown",
    "cache",
    "cache_tool_calls",
    "reasoning_effort",
    "strategy",
)
TARGET_FIELDS = ("upstream_id", "model", "weight")


def _same(rows: list, existing: list, fields: tuple[str, ...]) -> bool:
    key = lambda row: tuple(getattr(row, f) for f in fields)  # noqa: E731
    return [key(r) for r in rows] == [key(r) for r in existing]


def _replace(model, rows: list, source: str, fields: tuple[str, ...]) -> bool:
    existing = list(model.objects.filter(source=source).order_by("position", "pk"))
    if _same(rows, existing, fields):
        return False
    model.objects.filter(source=source).delete()
    model.objects.bulk_create(rows)
    return True


def _route_key(route: Route, targets: list[RouteTarget]) -> tuple:
    return (
        tuple(getattr(route, f) for f in ROUTE_FIELDS),
        tuple(tuple(getattr(t, f) for f in TARGET_FIELDS) for t in targets),
    )


def _replace_routes(rows: list[tuple[Route, list[RouteTarget]]], source: str) -> bool:
    existing = Route.objects.filter(source=source).order_by("position", "pk")
    existing = existing.prefetch_related("targets")
    if [_route_key(*row) for row in rows] == [
        _route_key(r, list(r.targets.all())) for r in existing
    ]:
        return False
    Route.objects.filter(source=source).delete()
    for route, targets in rows:
        route.save()
        for target in targets:
            target.route = route
        RouteTarget.objects.bulk_create(targets)
    return True


def _mapping_rows(pairs: list[tuple[str, str]], source: str) -> list[ModelMapping]:
    return [
        ModelMapping(position=(i + 1) * POSITION_STEP, pattern=p, replacement=r, source=source)
        for i, (p, r) in enumerate(pairs)
    ]


MAPPING_FIELDS = ("position", "pattern", "replacement", "enabled")


@transaction.atomic
def apply_config(config: FileConfig, source: str = Source.FILE) -> bool:
    """Make the rows of `source` equal to `config`. True if anything changed."""
    changed = _sync_upstreams(config, source)
    changed |= _replace_routes(_route_rows(config, source), source)
    changed |= _replace(
        ModelMapping, _mapping_rows(config.model_map, source), source, MAPPING_FIELDS
    )
    unused = Upstream.objects.filter(
        source=source, route__isnull=True, routetarget__isnull=True
    ).exclude(name__in=[u.name for u in config.upstreams])
    if unused.exists():
        unused.delete()
        changed = True
    if changed:
        transaction.on_commit(bump_version)
    return changed


@transaction.atomic
def apply_model_map(model_map: dict[str, str]) -> bool:
    rows = _mapping_rows(model_map_config(model_map), Source.ENV)
    changed = _replace(ModelMapping, rows, Source.ENV, MAPPING_FIELDS)
    if changed:
        transaction.on_commit(bump_version)
    return changed


def load_startup_config() -> list[str]:
    """Load MODEL_MAP and ROUTES_CONFIG; returns a line per source for the start-up banner."""
    lines = []
    apply_model_map(settings.MODEL_MAP)
    if settings.MODEL_MAP:
        lines.append(f"MODEL_MAP: {len(settings.MODEL_MAP)} mappings")
    path = settings.ROUTES_CONFIG
    config = read_config_file(path) if path else FileConfig()
    apply_config(config, Source.FILE)
    if path:
        lines.append(
            f"ROUTES_CONFIG {path}: {len(config.routes)} routes, "
            f"{len(config.upstreams)} upstreams, {len(config.model_map)} mappings"
        )
    return lines
