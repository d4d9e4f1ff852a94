"""Pure explanation of a routing decision: which rule matched, and why the earlier ones did not.

It walks the same rules in the same order as `engine.decide` and checks that it
reaches the same decision, so the explanation can never drift from the behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.rules.engine import Decision, RuleSet, decide, route_matches
from routing.rules.patterns import parse_address


@dataclass(frozen=True)
class Step:
    rule: str
    matched: bool
    reason: str


@dataclass
class Explanation:
    model: str
    client: str
    decision: Decision
    steps: list[Step] = field(default_factory=list)

    def targets(self) -> list[str]:
        """Several targets, one line each (empty when the decision has one upstream)."""
        d = self.decision
        if len(d.targets) < 2:
            return []
        return [
            f"{t.upstream.name} ({t.upstream.base_url}) as {t.model or d.model}"
            + (f", weight {t.weight:g}" if d.strategy == "weighted" else "")
            for t in d.targets
        ]

    def lines(self) -> list[str]:
        out = [f"{'✓' if s.matched else '✗'} {s.rule}: {s.reason}" for s in self.steps]
        d = self.decision
        transforms = ", ".join(d.transforms.describe()) or "none"
        targets = self.targets()
        out += [
            f"→ {d.strategy} over {len(targets)} targets: {'; '.join(targets)}"
            if targets
            else f"→ upstream {d.upstream.name} ({d.upstream.base_url})",
            f"→ model {d.model}",
            f"→ transforms: {transforms}",
        ]
        return out


def _why_not(route, model: str, address) -> str:
    if route.model is not None and route.model.match(model) is None:
        return f"model {model!r} does not match {route.model.describe()}"
    if route.network is not None:
        if address is None:
            return "the client address is not an IP address"
        return f"client {address} is not in {route.network}"
    return "does not match"  # not reached: route_matches agreed it matched


def _what_matched(route) -> str:
    parts = []
    if route.model is not None:
        parts.append(f"model matches {route.model.describe()}")
    if route.network is not None:
        parts.append(f"client is in {route.network}")
    return " and ".join(parts) or "matches every request"


def _what_mapped(rules: RuleSet, decision: Decision, model: str) -> str:
    entry = next((r.pattern for r in rules.regex_map if r.pattern.source == decision.mapping), None)
    if entry is None:
        return f"the exact name {decision.mapping!r} maps {model!r} to {decision.model!r}"
    return (
        f"{entry.describe()} maps {model!r} to {decision.model!r}"
        " (the whole model becomes the replacement)"
    )


def explain(rules: RuleSet, model: str, client: str) -> Explanation:
    address = parse_address(client)
    decision = decide(rules, model, client)
    result = Explanation(model, client, decision)
    matched = None
    for route in rules.routes:
        if route_matches(route, model, address) is None:
            result.steps.append(
                Step(f"route {route.name!r}", False, _why_not(route, model, address))
            )
            continue
        matched = route
        rewrite = f", rewrites the model to {decision.model!r}" if route.rewrite else ""
        result.steps.append(Step(f"route {route.name!r}", True, _what_matched(route) + rewrite))
        break
    else:
        result.steps.append(Step("routes", False, "no route matches: the default upstream"))
    if matched is not None and matched.rewrite:
        result.steps.append(Step("model map", False, "not used: the route's rewrite wins"))
    elif decision.mapping is not None:
        result.steps.append(Step("model map", True, _what_mapped(rules, decision, model)))
    else:
        result.steps.append(Step("model map", False, f"no entry applies to {model!r}"))
    return result
