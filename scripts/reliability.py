"""The fault and abuse suite, soak runs included: run it, then print what it measured.

    python scripts/reliability.py [extra pytest arguments]

Each check writes its figures (one JSON line each) to the file named by
RELIABILITY_FIGURES; this prints them as one table, adds the tests that report no figure
(pass or fail from pytest's own report), and exits non-zero if anything failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/reliability", "tests/unit/test_stream_properties.py"]


def run_pytest(figures: Path, report: Path, extra: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", *TESTS, "-m", "e2e or soak or not soak"]
    command += ["-p", "no:cacheprovider", f"--junitxml={report}", *extra]
    env = {**os.environ, "RELIABILITY_FIGURES": str(figures)}
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def test_outcomes(report: Path) -> dict[str, bool]:
    """name (without test_) -> passed, for every test pytest ran."""
    if not report.exists():
        return {}
    cases = ET.parse(report).getroot().iter("testcase")
    return {
        case.get("name", "").removeprefix("test_"): not any(
            c.tag in ("failure", "error") for c in case
        )
        for case in cases
        if not any(c.tag == "skipped" for c in case)
    }


def rows(figures: Path, outcomes: dict[str, bool]) -> list[tuple[str, str, str, bool]]:
    found = [json.loads(line) for line in figures.read_text().splitlines() if line.strip()]
    table = []
    for f in found:
        value = f"{f['value']:,.1f}" if isinstance(f["value"], float) else f"{f['value']:,}"
        figure = f"{f['name']}: {value} {f['unit']}".rstrip()
        passed = f["ok"] and outcomes.get(f["check"], True)
        table.append((f["check"], figure, f["threshold"], passed))
    reported = {f["check"] for f in found}
    table += [(name, "-", "-", ok) for name, ok in outcomes.items() if name not in reported]
    return table


def print_table(table: list[tuple[str, str, str, bool]]) -> None:
    head = ("check", "figure", "threshold", "result")
    lines = [(c, f, t, "pass" if ok else "FAIL") for c, f, t, ok in table]
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(4)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    last = None
    for row in lines:
        shown = ("" if row[0] == last else row[0], *row[1:])
        last = row[0]
        print(" | ".join(cell.ljust(w) for cell, w in zip(shown, widths, strict=True)))


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        figures, report = Path(tmp) / "figures.jsonl", Path(tmp) / "report.xml"
        figures.touch()
        code = run_pytest(figures, report, sys.argv[1:])
        table = rows(figures, test_outcomes(report))
    print()
    print_table(table)
    failed = sum(not ok for *_, ok in table)
    took = time.monotonic() - started
    print(f"\n{len(table)} figures, {failed} failed, {took / 60:.1f} minutes")
    return 1 if failed or code else 0


if __name__ == "__main__":
    sys.exit(main())
