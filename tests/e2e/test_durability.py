"""What survives a kill: completed requests keep their rows, the rest become interrupted."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import Process, start_gateway

pytestmark = pytest.mark.e2e


def states(proc: Process) -> dict[str, str]:
    path = Path(proc.env["DATA_DIR"]) / "llmproxy.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT id, state FROM recording_requestlog"))


def test_sigkill_loses_no_completed_request(e2e_dir, fake):
    # A long flush interval: when the kill comes, no finished row has reached the database.
    proc, url = start_gateway(e2e_dir, fake, RECORD_FLUSH_SECONDS="30")
    body = {"model": "echo", "messages": [{"role": "user", "content": "keep me"}]}
    done = [
        httpx.post(f"{url}/v1/chat/completions", json=body).headers["x-request-id"]
        for _ in range(20)
    ]
    stream = {**body, "model": "echo+words:50+delay:200", "stream": True}

    def cut_short() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the gateway dies under it
            httpx.post(f"{url}/v1/chat/completions", json=stream, timeout=30)

    running = threading.Thread(target=cut_short)
    running.start()
    time.sleep(0.5)
    proc.stop(signal.SIGKILL)
    running.join()
    port = url.rsplit(":", 1)[1]
    again = Process(
        ["runproxy", "--port", port], proc.env, Path(proc.env["DATA_DIR"]) / "restart.log"
    )
    try:
        again.wait_until_ready(f"{url}/health")
        found = states(again)
        assert "Recovered 20 finished requests from the journal." in again.output()
    finally:
        again.stop()
    assert {found[i.replace("-", "")] for i in done} == {"ok"}
    assert len(found) == 20  # the stream in flight was never written: nothing to mark


def test_sigterm_lets_a_stream_finish_and_records_it(e2e_dir, fake):
    proc, url = start_gateway(e2e_dir, fake, SHUTDOWN_GRACE="10")
    result = {}

    def stream() -> None:
        body = {
            "model": "echo+words:10+delay:150",
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        }
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as r:
            result["id"] = r.headers["x-request-id"]
            result["text"] = r.read().decode()

    running = threading.Thread(target=stream)
    running.start()
    time.sleep(0.5)
    proc.proc.send_signal(signal.SIGTERM)  # the manage.py process itself: uvicorn's own handler
    running.join()
    proc.proc.wait(15)
    assert result["text"].rstrip().endswith("data: [DONE]")
    assert states(proc)[result["id"].replace("-", "")] == "ok"
