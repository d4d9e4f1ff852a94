"""The benchmark's client APIs side by side on one gateway: the same streamed answer asked
through each front door, its time to first content event and the gateway's CPU per request."""

from __future__ import annotations

import statistics

from scripts.bench_measure import BODY, cpu_seconds, timed_posts

MODEL = "echo+words:20"
# (name, path, streamed body, what its first content event contains)
FRONT_DOORS = [
    (
        "chat completions",
        "/v1/chat/completions",
        {**BODY, "model": MODEL, "stream": True},
        b'"content":"w',
    ),
    (
        "Anthropic messages",
        "/v1/messages",
        {**BODY, "model": MODEL, "max_tokens": 256, "stream": True},
        b'"text":"w',
    ),
    (
        "OpenAI responses",
        "/v1/responses",
        {"model": MODEL, "input": BODY["messages"][0]["content"], "stream": True},
        b'"delta":"w',
    ),
]


def front_doors(url: str, pid: int, rounds: int) -> list[dict]:
    rows = []
    for name, path, body, marker in FRONT_DOORS:
        timed_posts(url, path, body, marker, 20)  # warm-up
        before = cpu_seconds(pid)
        samples = timed_posts(url, path, body, marker, rounds)
        cpu_ms = (cpu_seconds(pid) - before) * 1000 / rounds
        ttfb = statistics.median(first for first, _, _ in samples) * 1000
        rows.append({"name": name, "ttfb_ms": ttfb, "cpu_ms": cpu_ms})
    return rows


def front_door_table(rows: list[dict]) -> str:
    base = rows[0]
    lines = [
        f"Client APIs, streamed `{MODEL}` one at a time through the gateway as shipped:",
        "",
        "| API | stream TTFB ms | CPU ms/req | CPU vs chat |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['ttfb_ms']:.2f} | {row['cpu_ms']:.2f} | "
            f"{row['cpu_ms'] / base['cpu_ms']:.2f}x |"
        )
    return "\n".join(lines)
