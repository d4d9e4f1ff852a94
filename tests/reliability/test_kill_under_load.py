"""SIGKILL under load, then a restart on the same data: every request that completed has its
row, and the streams that were in flight are marked interrupted."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from functools import partial

import httpx
import pytest

from tests.e2e.procs import Process, start_gateway
from tests.reliability.helpers import USER, hex_id, restart, row_states, wait_until

pytestmark = pytest.mark.e2e
STREAMS = 20


class Load:
    """Streams kept in flight, and short requests sent back to back until the gateway dies."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.streams: list[str] = []  # request ids
        self.completed: list[str] = []
        self.threads = [threading.Thread(target=self.stream) for _ in range(STREAMS)]
        self.threads += [threading.Thread(target=self.short) for _ in range(3)]
        for thread in self.threads:
            thread.start()

    def stream(self) -> None:
        body = {"model": "echo+words:300+delay:100", "stream": True, "messages": USER}
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream("POST", f"{self.url}/v1/chat/completions", json=body, timeout=60) as r,
        ):
            self.streams.append(hex_id(r))
            for _ in r.iter_lines():  # until the gateway dies under it
                pass

    def short(self) -> None:
        body = {"model": "echo", "messages": USER}
        with httpx.Client(timeout=10) as client:
            while True:
                try:
                    response = client.post(f"{self.url}/v1/chat/completions", json=body)
                except httpx.HTTPError:
                    return
                if response.status_code == 200 and response.json()["choices"]:
                    self.completed.append(hex_id(response))

    def under_way(self, proc: Process) -> bool:
        """Every stream is in the database as in progress, and requests have completed."""
        if len(self.streams) < STREAMS or len(self.completed) < 50:
            return False
        states = row_states(proc)
        return all(states.get(i) == "in_progress" for i in self.streams)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)


@pytest.mark.parametrize(
    "kills", [pytest.param(1, id="1-kill"), pytest.param(4, id="4-kills", marks=pytest.mark.soak)]
)
def test_a_killed_gateway_keeps_every_completed_request_and_interrupts_the_rest(
    e2e_dir, fake, figure, kills
):
    proc, url = start_gateway(e2e_dir, fake)
    completed, in_flight, restarts = [], [], []
    try:
        for number in range(kills):
            load = Load(url)
            assert wait_until(partial(load.under_way, proc), 20), "the load never got going"
            proc.stop(signal.SIGKILL)
            load.join()
            completed += load.completed
            in_flight += load.streams
            started = time.monotonic()
            proc = restart(proc, url, f"restart-{number}.log")
            restarts.append(time.monotonic() - started)
        states = row_states(proc)
    finally:
        proc.stop()

    lost = [i for i in completed if states.get(i) != "ok"]
    missed = [i for i in in_flight if states.get(i) != "interrupted"]
    stuck = sum(s == "in_progress" for s in states.values())
    done, cut = f"of {len(completed)}", f"of {len(in_flight)}"
    results = [
        figure(name, value, unit, threshold, ok)
        for name, value, unit, threshold, ok in [
            ("completed requests without an ok row", len(lost), done, "= 0", not lost),
            ("streams in flight not marked interrupted", len(missed), cut, "= 0", not missed),
            ("rows left in progress", stuck, "", "= 0", stuck == 0),
            ("slowest restart to ready", max(restarts) * 1000, "ms", "-", True),
        ]
    ]
    assert all(results)
