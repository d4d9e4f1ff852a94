"""Pure parsing and checking of the routes file (YAML or JSON).

    upstreams:                      # optional
      - {name: gpu, url: "http://gpu:8000", api_key: "…", timeout: 120, max_concurrency: 4}
      - {name: claude, url: "https://api.anthropic.com", api: anthropic}  # speaks Messages
    routes:
      - match: {model: "/llama-(.*)/", source_host: "10.0.0.0/24"}
        route: {upstream: gpu, model: "meta-llama-\\1", strip_thinking: false}
      - match: {model: qwen}
        route:
          strategy: weighted          # fallback (default), weighted or least_busy
          targets:
            - {upstream: gpu, weight: 3}
            - {upstream: cpu, model: "qwen3:4b", weight: 1}
    model_map:                      # optional, in order
      gpt-4: llama3-70b

Every problem is reported with its location; nothing is returned half-checked.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import yaml

from routing.rules.engine import STRATEGIES, UPSTREAM_APIS, normalize_base_url
from routing.rules.file_config import (
    ConfigFileError,
    FileConfig,
    FileRoute,
    FileTarget,
    FileUpstream,
)
from routing.rules.patterns import (
    PatternError,
    check_template,
    compile_model_pattern,
    parse_network,
)
from routing.streams.chunks import THINK_MODES


def load_text(text: str, name: str = "routes file") -> object:
    try:
        if name.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigFileError([f"{name}: cannot be parsed: {exc}".replace("\n", " ")]) from None


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, value: object, where: str, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(where, "expected a mapping")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(f"{where}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def text(self, value: object, where: str) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(where, "expected a string")
            return ""
        return str(value)

    def flag(self, value: object, where: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.fail(where, "expected true or false")
        return None

    def think(self, value: object, where: str) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "strip" if value else "keep"
        if value in THINK_MODES:
            return value
        self.fail(where, "expected true, false or one of " + ", ".join(THINK_MODES))
        return ""

    def pattern(self, value: str, where: str):
        try:
            return compile_model_pattern(value)
        except PatternError as exc:
            self.fail(where, str(exc))
            return None


def parse_config(data: object, name: str = "routes file") -> FileConfig:
    check = _Checker()
    top = check.mapping(data, name, {"routes", "upstreams", "model_map"})
    config = FileConfig()
    upstream_names: set[str] = set()
    for i, item in enumerate(_as_list(top.get("upstreams"), "upstreams", check)):
        where = f"upstreams[{i}]"
        item = check.mapping(
            item, where, {"name", "url", "api_key", "timeout", "enabled", "max_concurrency", "api"}
        )
        upstream = _parse_upstream(item, where, check)
        if upstream is not None:
            if upstream.name in upstream_names:
                check.fail(f"{where}.name", f"{upstream.name!r} is defined twice")
            upstream_names.add(upstream.name)
            config.upstreams.append(upstream)
    for i, item in enumerate(_as_list(top.get("routes"), "routes", check)):
        config.routes.append(_parse_route(item, f"routes[{i}]", check))
    model_map = top.get("model_map") or {}
    if not isinstance(model_map, dict):
        check.fail("model_map", "expected a mapping of pattern to model")
        model_map = {}
    for pattern, replacement in model_map.items():
        where = f"model_map[{pattern!r}]"
        compiled = check.pattern(str(pattern), where)
        replacement = check.text(replacement, where)
        if compiled is not None and replacement:
            _check_template(replacement, compiled, where, check)
        config.model_map.append((str(pattern), replacement))
    if check.problems:
        raise ConfigFileError(check.problems)
    return config


def _as_list(value: object, where: str, check: _Checker) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        check.fail(where, "expected a list")
        return []
    return value


def _parse_upstream(item: dict, where: str, check: _Checker) -> FileUpstream | None:
    name = check.text(item.get("name"), f"{where}.name")
    url = check.text(item.get("url"), f"{where}.url")
    if not name:
        check.fail(f"{where}.name", "required")
    if not is_url(url):
        check.fail(f"{where}.url", f"expected an http(s) URL, got {url!r}")
    timeout = item.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        check.fail(f"{where}.timeout", "expected a positive number of seconds")
        timeout = None
    enabled = check.flag(item.get("enabled", True), f"{where}.enabled")
    cap = item.get("max_concurrency")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        check.fail(f"{where}.max_concurrency", "expected a whole number above 0")
        cap = None
    api = item.get("api", "openai")
    if api not in UPSTREAM_APIS:
        check.fail(f"{where}.api", f"expected one of {', '.join(UPSTREAM_APIS)}, got {api!r}")
        api = "openai"
    if not name or not is_url(url):
        return None
    return FileUpstream(
        name,
        normalize_base_url(url),
        check.text(item.get("api_key"), where),
        timeout,
        enabled is not False,
        cap,
        api,
    )


def _parse_targets(value: object, where: str, check: _Checker) -> tuple[FileTarget, ...]:
    targets = []
    for i, item in enumerate(_as_list(value, where, check)):
        here = f"{where}[{i}]"
        item = check.mapping(item, here, {"upstream", "model", "weight"})
        upstream = check.text(item.get("upstream"), f"{here}.upstream")
        if not upstream:
            check.fail(f"{here}.upstream", "required")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            check.fail(f"{here}.weight", "expected a number above 0")
            weight = 1
        targets.append(FileTarget(upstream, check.text(item.get("model"), f"{here}.model"), weight))
    return tuple(targets)


def _parse_route(item: object, where: str, check: _Checker) -> FileRoute:
    item = check.mapping(item, where, {"name", "match", "route", "enabled"})
    match = check.mapping(item.get("match"), f"{where}.match", {"model", "source_host"})
    target = check.mapping(
        item.get("route"),
        f"{where}.route",
        {
            "upstream",
            "model",
            "strip_thinking",
            "disable_thinking",
            "strip_json_markdown",
            "cache",
            "cache_tool_calls",
            "reasoning_effort",
            "strategy",
            "targets",
        },
    )
    model = check.text(match.get("model"), f"{where}.match.model")
    source = check.text(match.get("source_host"), f"{where}.match.source_host")
    compiled = check.pattern(model, f"{where}.match.model") if model else None
    if source:
        try:
            parse_network(source)
        except PatternError as exc:
            check.fail(f"{where}.match.source_host", str(exc))
    rewrite = check.text(target.get("model"), f"{where}.route.model")
    targets = _parse_targets(target.get("targets"), f"{where}.route.targets", check)
    if targets and target.get("upstream"):
        check.fail(f"{where}.route", "give either upstream or targets, not both")
    strategy = check.text(target.get("strategy"), f"{where}.route.strategy") or "fallback"
    if strategy not in STRATEGIES:
        check.fail(f"{where}.route.strategy", "expected one of " + ", ".join(STRATEGIES))
    if rewrite and compiled is not None:
        _check_template(rewrite, compiled, f"{where}.route.model", check)
    return FileRoute(
        name=check.text(item.get("name"), f"{where}.name"),
        model=model,
        source=source,
        upstream=check.text(target.get("upstream"), f"{where}.route.upstream"),
        rewrite=rewrite,
        strip_thinking=check.think(target.get("strip_thinking"), f"{where}.route.strip_thinking"),
        disable_thinking=check.flag(
            target.get("disable_thinking"), f"{where}.route.disable_thinking"
        ),
        strip_json_markdown=check.flag(
            target.get("strip_json_markdown"), f"{where}.route.strip_json_markdown"
        ),
        cache=check.flag(target.get("cache"), f"{where}.route.cache"),
        cache_tool_calls=check.flag(
            target.get("cache_tool_calls", False), f"{where}.route.cache_tool_calls"
        )
        is True,
        reasoning_effort=check.flag(
            target.get("reasoning_effort", False), f"{where}.route.reasoning_effort"
        )
        is True,
        enabled=check.flag(item.get("enabled", True), f"{where}.enabled") is not False,
        strategy=strategy,
        targets=targets,
    )


def _check_template(template: str, pattern, where: str, check: _Checker) -> None:
    try:
        check_template(template, pattern)
    except PatternError as exc:
        check.fail(where, str(exc))
