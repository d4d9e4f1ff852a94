"""The order in which a request tries its targets: fallback, weighted, least busy."""

from __future__ import annotations

import random
from collections import Counter

from routing.rules.engine import Target, UpstreamSpec
from routing.upstreams.balance import order_targets


def target(name: str, weight: float = 1.0) -> Target:
    return Target(UpstreamSpec(name, f"http://{name}"), "", weight)


A, B, C = target("a", 3), target("b", 1), target("c", 0.5)


def everyone(name: str) -> bool:
    return True


def idle(name: str) -> int:
    return 0


def test_fallback_keeps_the_written_order():
    order = order_targets((A, B, C), "fallback", everyone, idle, random.Random(1))
    assert [t.upstream.name for t in order] == ["a", "b", "c"]


def test_resting_upstreams_go_last_whatever_the_strategy():
    for strategy in ("fallback", "weighted", "least_busy"):
        order = order_targets((A, B, C), strategy, lambda n: n != "a", idle, random.Random(2))
        assert order[-1] is A and set(order) == {A, B, C}


def test_least_busy_picks_the_upstream_with_fewest_requests_in_flight():
    inflight = {"a": 5, "b": 0, "c": 2}
    order = order_targets((A, B, C), "least_busy", everyone, inflight.get, random.Random(3))
    assert [t.upstream.name for t in order] == ["b", "c", "a"]


def test_weighted_first_picks_follow_the_weights():
    rng = random.Random(4)
    firsts = Counter(
        order_targets((A, B, C), "weighted", everyone, idle, rng)[0].upstream.name
        for _ in range(9000)
    )
    total = sum(w.weight for w in (A, B, C))
    for t in (A, B, C):
        expected = 9000 * t.weight / total
        assert abs(firsts[t.upstream.name] - expected) < 4 * expected**0.5  # four sigmas


def test_weighted_order_still_holds_every_target_once():
    order = order_targets((A, B, C), "weighted", everyone, idle, random.Random(5))
    assert sorted(t.upstream.name for t in order) == ["a", "b", "c"]
