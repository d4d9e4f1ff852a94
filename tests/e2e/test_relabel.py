"""Relabelling seen from outside: captured by a real gateway, relabelled by `manage.py relabel`
against a real (slow) fake upstream, killed part-way, resumed without asking twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import ROOT, Process, start_fake, start_gateway

pytestmark = pytest.mark.e2e

N = 12
WORKFLOW = "relabel-flow"
SLOW = "echo+delay:300"  # the fake waits 300 ms before each whole reply


@pytest.fixture(scope="module")
def own_fake(e2e_dir):
    """A fake of its own, so that its request count is this test's alone."""
    proc, url = start_fake(e2e_dir, "relabel")
    yield url
    proc.stop()


def asked(fake: str) -> int:
    return httpx.get(f"{fake}/_fake/stats").json()["requests"]


def query(env: dict, sql: str) -> list[tuple]:
    path = Path(env["DATA_DIR"]) / "llmproxy.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


def wait_for(env: dict, sql: str, at_least: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while query(env, sql)[0][0] < at_least:
        assert time.monotonic() < deadline, f"not {at_least} rows of {sql!r} in time"
        time.sleep(0.05)


ANSWERS = "SELECT COUNT(*) FROM recording_alternative"


def capture(e2e_dir: Path, fake: str) -> dict:
    """Real traffic through a real gateway: N conversations in one workflow."""
    proc, url = start_gateway(e2e_dir, fake, RECORD_FLUSH_SECONDS="0.05")
    try:
        for i in range(N):
            body = {
                "model": "echo",
                "workflow_id": WORKFLOW,
                "messages": [{"role": "user", "content": f"question {i}"}],
            }
            assert httpx.post(f"{url}/v1/chat/completions", json=body).status_code == 200
        wait_for(proc.env, "SELECT COUNT(*) FROM recording_conversation", N)
    finally:
        proc.stop()
    return proc.env


def test_a_killed_run_resumes_where_it_stopped_and_asks_nothing_twice(e2e_dir, own_fake):
    env = capture(e2e_dir, own_fake)
    command = ["relabel", "--workflow", WORKFLOW, "--model", SLOW, "--concurrency", "2"]
    before = asked(own_fake)
    first = Process(command, env, Path(env["DATA_DIR"]) / "relabel-1.log")
    wait_for(env, ANSWERS, 4)
    first.stop(signal.SIGKILL)
    done = query(env, ANSWERS)[0][0]
    asked_first = asked(own_fake) - before
    assert 4 <= done < N, first.output()
    assert done <= asked_first <= done + 2  # only the requests in flight were lost

    second = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *command],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert second.stdout.strip() == f"relabelled {N - done}, skipped {done} already done, 0 failed"
    assert asked(own_fake) - before - asked_first == N - done  # the stored ones were not asked

    rows = query(
        env,
        "SELECT c.messages, a.model, a.message FROM recording_conversation c "
        "JOIN recording_alternative a ON a.conversation_id = c.id",
    )
    assert len(rows) == N
    assert query(env, "SELECT COUNT(DISTINCT conversation_id) FROM recording_alternative") == [(N,)]
    for messages, model, message in rows:
        question = json.loads(messages)[0]["content"]
        assert model == SLOW
        assert json.loads(message) == {"role": "assistant", "content": question}  # echoed
