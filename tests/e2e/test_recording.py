"""Recording seen from outside: a real gateway, its SQLite file, its logs and its exports."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import zlib
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.procs import Process, create_admin, free_port, logged_in, manage, start_gateway

pytestmark = pytest.mark.e2e

CANARY = "sk-canary-e2e-0123456789abcdef"
USER = [{"role": "user", "content": "abcdefghi"}]


@pytest.fixture(scope="module")
def recording_gateway(e2e_dir, fake):
    workflow_port = free_port()
    mappings = e2e_dir / "mappings.json"
    mappings.write_text(json.dumps({"port-flow": workflow_port}))
    proc, url = start_gateway(
        e2e_dir, fake, MAPPINGS_FILE=str(mappings), RECORD_FLUSH_SECONDS="0.05"
    )
    yield proc, url, f"http://127.0.0.1:{workflow_port}"
    proc.stop()


def database(proc: Process) -> Path:
    return Path(proc.env["DATA_DIR"]) / "llmproxy.sqlite3"


def query(proc: Process, sql: str, *args) -> list[dict]:
    with sqlite3.connect(f"file:{database(proc)}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args)]


def wait_for_row(proc: Process, request_id: str, final: bool = True, timeout: float = 5) -> dict:
    deadline = time.monotonic() + timeout
    hex_id = request_id.replace("-", "")
    while time.monotonic() < deadline:
        rows = query(proc, "SELECT * FROM recording_requestlog WHERE id = ?", hex_id)
        if rows and (not final or rows[0]["state"] != "in_progress"):
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"no {'final ' if final else ''}row for {request_id}")


def test_every_kind_of_request_leaves_one_row_with_its_tokens(recording_gateway):
    proc, url, _ = recording_gateway
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=CANARY, max_retries=0)
    whole = client.chat.completions.with_raw_response.create(model="echo+chunk:3", messages=USER)
    with client.chat.completions.with_streaming_response.create(
        model="echo+chunk:3", messages=USER, stream=True
    ) as streamed:
        chunks = [line for line in streamed.iter_lines() if line.startswith("data: {")]
    assert not any('"usage"' in c for c in chunks)  # asked upstream for the log only
    bad = httpx.post(f"{url}/v1/chat/completions", json={"model": "echo"})
    failed = httpx.post(
        f"{url}/v1/chat/completions", json={"model": "status:503", "messages": USER}
    )
    rows = {
        name: wait_for_row(proc, r.headers["x-request-id"])
        for name, r in [("whole", whole), ("stream", streamed), ("bad", bad), ("failed", failed)]
    }
    assert {k: (r["state"], r["status"]) for k, r in rows.items()} == {
        "whole": ("ok", 200),
        "stream": ("ok", 200),
        "bad": ("error", 400),
        "failed": ("error", 503),
    }
    for name in ("whole", "stream"):
        assert (rows[name]["prompt_tokens"], rows[name]["completion_tokens"]) == (2, 3)
        assert rows[name]["tokens_estimated"] == 0
    assert rows["stream"]["stream"] == 1 and rows["stream"]["ttft_ms"] > 0


def test_a_slow_stream_is_in_flight_then_done_and_a_leaver_is_cancelled(recording_gateway):
    proc, url, _ = recording_gateway
    body = {"model": "echo+words:12+delay:100", "stream": True, "messages": USER}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        request_id = response.headers["x-request-id"]
        row = wait_for_row(proc, request_id, final=False)
        assert row["state"] == "in_progress"
        response.read()
    assert wait_for_row(proc, request_id)["state"] == "ok"
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        leaver = response.headers["x-request-id"]
        next(response.iter_lines())
    row = wait_for_row(proc, leaver)
    assert (row["state"], row["status"]) == ("cancelled", 499)


def test_the_workflow_comes_from_the_port_or_the_body_and_never_goes_upstream(
    recording_gateway, tmp_path
):
    proc, _, workflow_url = recording_gateway
    by_port = httpx.post(
        f"{workflow_url}/v1/chat/completions", json={"model": "inspect", "messages": USER}
    )
    seen = json.loads(by_port.json()["choices"][0]["message"]["content"])["body"]
    by_body = httpx.post(
        f"{workflow_url}/v1/completions",
        json={"model": "inspect", "prompt": "p", "workflow_id": "body-flow"},
    )
    seen_by_body = json.loads(by_body.json()["choices"][0]["text"])["body"]
    assert "workflow_id" not in seen and "workflow_id" not in seen_by_body
    assert wait_for_row(proc, by_port.headers["x-request-id"])["workflow"] == "port-flow"
    assert wait_for_row(proc, by_body.headers["x-request-id"])["workflow"] == "body-flow"
    summary = manage(proc, "export_chatml", "--out", str(tmp_path), "--workflow", "body-flow")
    assert "1 sessions (1 turns) in 1 files, 0 skipped" in summary
    [record] = [
        json.loads(x)
        for x in (tmp_path / "body-flow" / "conversations.jsonl").read_text().splitlines()
    ]
    assert record["messages"][0] == {"role": "user", "content": "p"}
    assert record["workflow_id"] == "body-flow" and record["model"] == "inspect"
    assert record["timestamp"].endswith("Z")


def test_secrets_appear_nowhere(recording_gateway, tmp_path):
    proc, url, _ = recording_gateway
    headers = {"Authorization": f"Bearer {CANARY}"}
    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers=headers,
        json={"model": "inspect", "messages": USER, "api_key": CANARY},
    )
    assert CANARY in response.text  # the upstream saw it (it is the client's own key)
    wait_for_row(proc, response.headers["x-request-id"])
    manage(proc, "export_chatml", "--out", str(tmp_path))
    exported = "".join(p.read_text() for p in tmp_path.rglob("*.jsonl"))
    assert exported and CANARY not in exported
    raw = database(proc).read_bytes() + Path(str(database(proc)) + "-wal").read_bytes()
    assert CANARY.encode() not in raw
    dump = [str(r) for r in query(proc, "SELECT * FROM recording_requestlog")]
    dump += [str(r) for r in query(proc, "SELECT * FROM recording_conversation")]
    for body in query(proc, "SELECT * FROM recording_requestbody"):
        dump += [
            zlib.decompress(body[c]).decode()
            for c in ("request_headers", "request_body", "response_body")
            if body[c]
        ]
    assert "[redacted]" in "\n".join(dump)
    assert CANARY not in "\n".join(dump)
    assert CANARY not in proc.output()


def test_the_log_api_answers_a_logged_in_admin(recording_gateway):
    proc, url, _ = recording_gateway
    create_admin(proc, "e2e-password-123")
    assert httpx.get(f"{url}/api/stats").status_code == 401
    with logged_in(url, "e2e-password-123") as session:
        stats = session.get("/api/stats").json()
        assert stats["total"]["requests"] >= 1
        logs = session.get("/api/logs", params={"limit": 1}).json()
        detail = session.get(f"/api/logs/{logs['data'][0]['id']}").json()
        assert "request" in detail["bodies"]


def test_rows_in_flight_when_the_gateway_is_killed_are_interrupted_after_restart(e2e_dir, fake):
    proc, url = start_gateway(e2e_dir, fake, RECORD_FLUSH_SECONDS="0.05")
    body = {"model": "echo+words:50+delay:200", "stream": True, "messages": USER}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        request_id = response.headers["x-request-id"]
        wait_for_row(proc, request_id, final=False)
        proc.stop(signal.SIGKILL)
    port = url.rsplit(":", 1)[1]
    restarted = Process(
        ["runproxy", "--port", port], proc.env, Path(proc.env["DATA_DIR"]) / "2.log"
    )
    try:
        restarted.wait_until_ready(f"{url}/health")
        row = wait_for_row(restarted, request_id)
        assert row["state"] == "interrupted"
        assert "Marked 1 requests" in restarted.output()
    finally:
        restarted.stop()
