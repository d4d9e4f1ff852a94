"""Clients that leave mid-stream: one row each, the upstream released at once, nothing leaks."""

from __future__ import annotations

import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.procs import start_gateway
from tests.reliability.helpers import (
    hex_id,
    in_progress,
    row_states,
    rss_mb,
    settled_sockets,
    tcp_connections,
    wait_until,
)

pytestmark = pytest.mark.e2e

CONCURRENCY = 20
MODEL = "echo+words:40+delay:50"  # 42 events, 2 s per stream
LEAVERS = 0.3


@dataclass
class Outcome:
    tag: str
    request_id: str
    left_at: float | None  # wall clock, when the client closed its connection


def stream_once(url: str, tag: str, leave_after: int | None, ollama: bool) -> Outcome:
    """One streaming request; leave after `leave_after` lines (0: right after the headers)."""
    messages = [{"role": "user", "content": tag}]
    if ollama:
        path, body = "/api/chat", {"model": MODEL, "messages": messages}
    else:
        path, body = "/v1/chat/completions", {"model": MODEL, "stream": True, "messages": messages}
    with httpx.Client(timeout=30) as client, client.stream("POST", url + path, json=body) as r:
        request_id, lines = hex_id(r), 0
        if leave_after is None:
            r.read()
            return Outcome(tag, request_id, None)
        for line in r.iter_lines():
            if lines >= leave_after:
                break
            lines += bool(line.strip())
        left_at = time.time()
        r.close()
        return Outcome(tag, request_id, left_at)


def run_round(url: str, run: str, number: int, size: int, rng: random.Random) -> list[Outcome]:
    leaving = set(rng.sample(range(size), round(size * LEAVERS)))
    jobs = [
        (url, f"{run}-r{number}-{i}", rng.randint(0, 25) if i in leaving else None, i % 4 == 3)
        for i in range(size)
    ]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda job: stream_once(*job), jobs))


def connections(pid: int, gateway_port: int, fake_port: int) -> dict[str, int]:
    conns = [c for c in tcp_connections(pid) if c[2] != "listen"]
    return {
        "clients": sum(local == gateway_port for local, _, _ in conns),
        "upstream": sum(remote == fake_port for _, remote, _ in conns),
        "close_wait": sum(state == "close_wait" for _, _, state in conns),
    }


@pytest.mark.parametrize(
    ("rounds", "size"),
    [pytest.param(3, 20, id="60"), pytest.param(5, 100, id="500", marks=pytest.mark.soak)],
)
def test_clients_leaving_mid_stream_leave_clean_rows_and_no_leaks(
    e2e_dir, fake, figure, rounds, size
):
    proc, url = start_gateway(e2e_dir, fake, RECORD_FLUSH_SECONDS="0.05")
    pid, run, rng = proc.proc.pid, uuid.uuid4().hex[:8], random.Random(rounds * size)
    port, fake_port = int(url.rsplit(":", 1)[1]), int(fake.rsplit(":", 1)[1])
    try:
        sockets_before = settled_sockets(pid)
        outcomes, rss = [], []
        for number in range(rounds):
            outcomes += run_round(url, run, number, size, rng)
            wait_until(lambda: in_progress(proc) == 0, 10)
            rss.append(rss_mb(pid))
        sockets_after = settled_sockets(pid)
        conns = connections(pid, port, fake_port)
        states = row_states(proc)
        noticed = {a["prompt"]: a["at"] for a in httpx.get(f"{fake}/_fake/abandoned").json()}
    finally:
        proc.stop()

    wrong = [
        (o.tag, states.get(o.request_id))
        for o in outcomes
        if states.get(o.request_id) != ("ok" if o.left_at is None else "cancelled")
    ]
    leavers = [o for o in outcomes if o.left_at is not None]
    delays = sorted(noticed[o.tag] - o.left_at for o in leavers if o.tag in noticed)
    unseen = len(leavers) - len(delays)
    slowest = max(delays, default=99.0) * 1000
    median = delays[len(delays) // 2] * 1000 if delays else 99.0
    stuck = sum(s == "in_progress" for s in states.values())
    left_open = conns["clients"] + conns["close_wait"]
    pooled = conns["upstream"]
    extra = sockets_after - sockets_before - pooled
    growth = rss[-1] - rss[0]
    results = [
        figure(name, value, unit, threshold, ok)
        for name, value, unit, threshold, ok in [
            ("requests, of which leavers", len(outcomes), f"/ {len(leavers)}", "-", True),
            ("rows wrong or missing", len(wrong), "", "= 0", not wrong),
            ("rows in all", len(states), "", f"= {len(outcomes)}", len(states) == len(outcomes)),
            ("rows left in progress", stuck, "", "= 0", stuck == 0),
            ("abandoned streams the fake never saw closed", unseen, "", "= 0", unseen == 0),
            ("upstream closed after the client left, max", slowest, "ms", "< 1000", slowest < 1000),
            ("upstream closed after the client left, median", median, "ms", "-", True),
            ("client or CLOSE_WAIT connections left open", left_open, "", "= 0", left_open == 0),
            ("pooled upstream connections", pooled, "", f"<= {CONCURRENCY}", pooled <= CONCURRENCY),
            ("other sockets gained", extra, "", "<= 2", extra <= 2),
            ("RSS growth, after round 1 to after the last", growth, "MB", "< 15", growth < 15),
        ]
    ]
    assert all(results), wrong[:5]
