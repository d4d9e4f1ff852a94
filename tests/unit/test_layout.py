"""The import structure: apps depend one way, routing's stages form no circle, pure modules
import no Django, modules stay small (the same check as `python scripts/layout.py`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "layout.py"


def load_layout():
    spec = importlib.util.spec_from_file_location("layout", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_layout_has_no_problems():
    found, _ = load_layout().problems()
    assert found == []


def test_routing_imports_neither_recording_nor_analytics():
    _, edges = load_layout().problems()
    reached = {
        b.split(".")[0] for a, targets in edges.items() if a.startswith("routing") for b in targets
    }
    assert reached <= {"routing"}


def test_the_stages_are_folders_of_routing():
    _, edges = load_layout().problems()
    stages = {
        "routing.apis",
        "routing.guard",
        "routing.rules",
        "routing.upstreams",
        "routing.streams",
    }
    assert stages <= set(edges) | {b for targets in edges.values() for b in targets}


def test_a_circle_is_found_when_there_is_one():
    layout = load_layout()
    edges = {"a": {"b": {"a.x"}}, "b": {"c": {"b.y"}}, "c": {"a": {"c.z"}}}
    assert layout.cycles(edges) == [["a", "b", "c", "a"]]
