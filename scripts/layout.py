"""Check the import structure: apps depend one way, sub-packages form no circle, pure code
imports no Django, modules stay small. Prints the sub-package graph; exits 1 on a problem.

    python scripts/layout.py          (also run by the test suite)
"""

from __future__ import annotations

import ast
import sys
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("llmproxy", "analytics", "recording", "routing")  # each may import only those after it
# Pure code: decoders, transforms, decisions, translations. No Django, no ninja, no settings.
PURE = (
    "routing/streams/*",
    "routing/rules/*",
    "routing/apis/*/request.py",
    "routing/apis/*/reply.py",
    "routing/apis/*/translate*.py",
)
FRAMEWORK = ("django", "ninja", "channels", "daphne")
MAX_LINES = 300


def project_files() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def unit(module: str) -> str:
    """The part a module belongs to: an app, or a sub-package of routing (its root files each
    count alone: Django's models, admin, apps, management)."""
    parts = module.split(".")
    if parts[0] == "routing" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def graph(files: list[Path], known: set[str]) -> dict[str, dict[str, set[str]]]:
    """unit -> {imported unit: {the importing modules}}"""
    edges: dict[str, dict[str, set[str]]] = {}
    for path in files:
        source = module_name(path)
        for target in imports_of(path):
            if target.split(".")[0] not in APPS:
                continue
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]  # `from pkg import name`: name is no module
            a, b = unit(source), unit(target)
            if a != b:
                edges.setdefault(a, {}).setdefault(b, set()).add(source)
    return edges


def cycles(edges: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def problems() -> tuple[list[str], dict[str, dict[str, set[str]]]]:
    files = project_files()
    known = {module_name(p) for p in files}
    edges = graph(files, known)
    found = [f"import circle: {' -> '.join(c)}" for c in cycles(edges)]
    for a, targets in edges.items():
        for b, sources in targets.items():
            app_a, app_b = a.split(".")[0], b.split(".")[0]
            if APPS.index(app_b) < APPS.index(app_a):
                found.append(f"{app_a} imports {app_b} (apps depend one way): {sorted(sources)}")
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        if any(fnmatch(relative, pattern) for pattern in PURE):
            text = path.read_text()
            framework = sorted(
                m for m in imports_of(path) if m.split(".")[0] in (*FRAMEWORK, *APPS[:3])
            )
            if framework or "settings." in text:
                found.append(f"pure module {relative} uses {framework or 'settings'}")
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            found.append(f"{relative} has {lines} lines (split it around {MAX_LINES})")
    return found, edges


def main() -> int:
    found, edges = problems()
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a]))}")
    for line in found:
        print("PROBLEM:", line)
    print(f"{len(edges)} parts, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
