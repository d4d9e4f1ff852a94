"""The fault and abuse suite: real processes on 127.0.0.1, and the figures each check reports.

Every check calls `figure(...)` for what it measured and asserts its pass condition too;
`scripts/reliability.py` collects the figures (env RELIABILITY_FIGURES) into a table.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.conftest import e2e_dir, fake  # noqa: F401  (the session's fake upstream)


@pytest.fixture
def figure(request):
    """figure(name, value, unit, threshold, ok): print one measured figure and keep it."""

    def record(name: str, value: float, unit: str, threshold: str, ok: bool) -> bool:
        line = {
            "check": request.node.name.removeprefix("test_"),
            "name": name,
            "value": round(value, 3) if isinstance(value, float) else value,
            "unit": unit,
            "threshold": threshold,
            "ok": bool(ok),
        }
        print(json.dumps(line))
        if path := os.environ.get("RELIABILITY_FIGURES"):
            with open(path, "a") as out:
                out.write(json.dumps(line) + "\n")
        return bool(ok)

    return record
