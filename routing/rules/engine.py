"""Pure routing decisions over frozen, precompiled rules.

Order: routes in order, first match wins (a route with both a model pattern and
an address needs both; a route's regex matches anywhere in the name); a matching
route's model rewrite beats the model map; the model map applies otherwise (an exact
entry beats a regex, which matches from the start of the name and whose expanded
replacement becomes the whole model); a request that no route claims goes to the
default upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from routing.rules.patterns import IPNetwork, ModelPattern, expand_template, parse_address
from routing.streams.chunks import Transforms


def normalize_base_url(url: str) -> str:
    """`http://host:8000/v1/` and `http://host:8000` name the same server."""
    url = url.strip().rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    name: str
    base_url: str
    api_key: str = field(default="", repr=False)
    timeout: float | None = None
    key_overrides: bool = False  # an upstream's own key replaces the client's Authorization
    max_concurrency: int | None = None
    api: str = "openai"  # one of UPSTREAM_APIS


@dataclass(frozen=True, slots=True)
class Target:
    """One upstream a request may go to, with the model name it has there."""

    upstream: UpstreamSpec
    model: str = ""  # empty: the model the decision chose
    weight: float = 1.0


STRATEGIES = ("fallback", "weighted", "least_busy")
# The API an upstream speaks besides OpenAI's chat completions, which every upstream speaks:
# a front door for that API hands its requests over untranslated.
UPSTREAM_APIS = ("openai", "anthropic", "responses")


@dataclass(frozen=True, slots=True)
class RouteRule:
    name: str
    model: ModelPattern | None = None
    network: IPNetwork | None = None
    upstream: UpstreamSpec | None = None  # None: the default upstream
    rewrite: str = ""
    think: str | None = None  # None: inherit the global setting
    no_think: bool | None = None
    json_fence: bool | None = None
    cache: bool | None = None  # None: CACHE_ENABLED decides
    cache_tool_calls: bool = False
    reasoning_effort: bool = False  # the upstream takes reasoning_effort
    targets: tuple[Target, ...] = ()  # several upstreams; empty: `upstream` (or the default)
    strategy: str = "fallback"

    def transforms(self, base: Transforms) -> Transforms:
        return Transforms(
            think=base.think if self.think is None else self.think,
            no_think=base.no_think if self.no_think is None else self.no_think,
            json_fence=base.json_fence if self.json_fence is None else self.json_fence,
        )


@dataclass(frozen=True, slots=True)
class MappingRule:
    pattern: ModelPattern
    replacement: str


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A gateway key as requests see it (the database keeps only its hash)."""

    name: str
    allowed: tuple[ModelPattern, ...] = ()  # empty: every model
    rate: object | None = None  # a routing.rates.Rate, or None for no limit
    own_rate: bool = False  # False: RATE_LIMIT applies
    expires_at: float | None = None  # epoch seconds
    manage_models: bool = False  # may change the models of the Ollama behind the gateway

    def allows(self, model: str) -> bool:
        return not self.allowed or any(p.match(model) is not None for p in self.allowed)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class RuleSet:
    default_upstream: UpstreamSpec
    routes: tuple[RouteRule, ...] = ()
    exact_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    regex_map: tuple[MappingRule, ...] = ()
    transforms: Transforms = field(default_factory=Transforms)
    version: int = 0
    workflow_ports: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    gateway_keys: Mapping[str, KeySpec] = field(default_factory=lambda: MappingProxyType({}))
    default_targets: tuple[Target, ...] = ()  # empty: the default upstream alone
    default_strategy: str = "fallback"

    def default(self) -> tuple[tuple[Target, ...], str]:
        return self.default_targets or (Target(self.default_upstream),), self.default_strategy

    @property
    def aliases(self) -> list[str]:
        """Model names that a route or the map accepts exactly."""
        names = [r.model.exact for r in self.routes if r.model and r.model.exact]
        return list(dict.fromkeys([*names, *self.exact_map]))

    @property
    def upstreams(self) -> list[UpstreamSpec]:
        found = {self.default_upstream.base_url: self.default_upstream}
        for target in self.default_targets:
            found.setdefault(target.upstream.base_url, target.upstream)
        for route in self.routes:
            for target in route.targets:
                found.setdefault(target.upstream.base_url, target.upstream)
            if route.upstream is not None:
                found.setdefault(route.upstream.base_url, route.upstream)
        return list(found.values())

    def with_defaults(self, transforms: Transforms) -> RuleSet:
        return replace(self, transforms=transforms)


@dataclass(frozen=True, slots=True)
class Decision:
    upstream: UpstreamSpec
    model: str
    transforms: Transforms
    route: str | None = None
    mapping: str | None = None
    cache: bool | None = None
    cache_tool_calls: bool = False
    reasoning_effort: bool = False
    targets: tuple[Target, ...] = ()
    strategy: str = "fallback"


def map_model(rules: RuleSet, model: str) -> tuple[str, str | None]:
    """The model map's answer: (model, source of the entry that applied or None)."""
    if model in rules.exact_map:
        return rules.exact_map[model], model
    for rule in rules.regex_map:
        match = rule.pattern.match(model)
        if match is not None:
            return expand_template(rule.replacement, match), rule.pattern.source
    return model, None


def route_matches(route: RouteRule, model: str, address: object) -> object | None:
    """The model match (True for exact or no pattern) when the route applies, else None."""
    match: object | None = True
    if route.model is not None:
        match = route.model.match(model)
        if match is None:
            return None
    if route.network is not None and (address is None or address not in route.network):
        return None
    return match


def route_targets(route: RouteRule, rules: RuleSet) -> tuple[tuple[Target, ...], str]:
    if route.targets:
        return route.targets, route.strategy
    if route.upstream is not None:
        return (Target(route.upstream),), "fallback"
    return rules.default()


def decide(rules: RuleSet, model: str, client: str) -> Decision:
    address = parse_address(client) if any(r.network for r in rules.routes) else None
    for route in rules.routes:
        match = route_matches(route, model, address)
        if match is None:
            continue
        if route.rewrite:
            final, mapping = expand_template(route.rewrite, match), None
        else:
            final, mapping = map_model(rules, model)
        targets, strategy = route_targets(route, rules)
        return Decision(
            upstream=targets[0].upstream,
            model=final,
            transforms=route.transforms(rules.transforms),
            route=route.name,
            mapping=mapping,
            cache=route.cache,
            cache_tool_calls=route.cache_tool_calls,
            reasoning_effort=route.reasoning_effort,
            targets=targets,
            strategy=strategy,
        )
    final, mapping = map_model(rules, model)
    targets, strategy = rules.default()
    return Decision(
        targets[0].upstream,
        final,
        rules.transforms,
        None,
        mapping,
        targets=targets,
        strategy=strategy,
    )
