"""Pure choice of the order in which a request tries its upstream targets."""

from __future__ import annotations

import random
from collections.abc import Callable

from routing.rules.engine import Target


def weighted_order(targets: list[Target], rng: random.Random) -> list[Target]:
    """Weighted random without replacement: the first pick follows the weights."""
    left, out = list(targets), []
    while left:
        pick = rng.choices(range(len(left)), weights=[t.weight for t in left])[0]
        out.append(left.pop(pick))
    return out


def order_targets(
    targets: tuple[Target, ...],
    strategy: str,
    usable: Callable[[str], bool],
    busy: Callable[[str], int],
    rng: random.Random,
) -> list[Target]:
    """The targets to try, best first. Upstreams in cooldown come last (tried only when
    nothing else is left, so a dead server costs nothing while another one answers)."""
    ready = [t for t in targets if usable(t.upstream.name)]
    resting = [t for t in targets if t not in ready]
    if strategy == "weighted":
        ready = weighted_order(ready, rng)
    elif strategy == "least_busy":
        ready = sorted(ready, key=lambda t: busy(t.upstream.name))  # stable: ties keep order
    return ready + resting
