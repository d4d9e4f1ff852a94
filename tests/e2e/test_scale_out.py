"""Several nodes and workers on the real PostgreSQL and Redis of this machine."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from websockets.sync.client import connect

from tests.e2e.procs import (
    Process,
    base_env,
    create_admin,
    free_port,
    logged_in,
    manage,
    start_gateway,
)

pytestmark = pytest.mark.e2e
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/7"
PASSWORD = "scale-out-password-1"
USER = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def shared(e2e_dir):
    """A fresh database and an empty Redis database for this module's nodes."""
    name = f"llmproxy_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/test", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    redis.from_url(REDIS).flushdb()
    yield {"DATABASE_URL": f"{PG}/{name}", "REDIS_URL": REDIS, "RECORD_FLUSH_SECONDS": "0.05"}
    with psycopg.connect(f"{PG}/test", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def nodes(e2e_dir, fake, shared):
    a, url_a = start_gateway(e2e_dir, fake, **shared)
    b, url_b = start_gateway(e2e_dir, fake, **shared)
    create_admin(a, PASSWORD)
    yield {"a": (a, url_a), "b": (b, url_b)}
    a.stop()
    b.stop()


def chat(url: str, model: str = "echo", **extra) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        timeout=30,
        json={"model": model, "messages": USER, **extra.pop("body", {})},
        **extra,
    )


def query(proc: Process, sql: str, *args) -> list[tuple]:
    with psycopg.connect(proc.env["DATABASE_URL"]) as db:
        return db.execute(sql, args).fetchall()


def wait_state(proc: Process, request_id: str, final: bool = True) -> str:
    for _ in range(200):
        rows = query(proc, "SELECT state FROM recording_requestlog WHERE id = %s", request_id)
        if rows and (not final or rows[0][0] != "in_progress"):
            return rows[0][0]
        time.sleep(0.05)
    raise AssertionError(f"no row for {request_id}")


def test_a_rate_limit_is_shared_by_the_nodes(nodes):
    (a, url_a), (_, url_b) = nodes["a"], nodes["b"]
    code = (
        "from routing.models import GatewayKey; "
        "k = GatewayKey(name='shared', rate_limit='5/m'); s = k.issue(); k.save(); print(s)"
    )
    secret = manage(a, "shell", "-c", code).strip().splitlines()[-1]
    time.sleep(1.5)  # both nodes pick the new key up
    headers = {"X-Gateway-Key": secret}
    statuses = [
        chat(url, headers=headers).status_code
        for url in (url_a, url_b, url_a, url_b, url_a, url_b, url_a)
    ]
    assert statuses == [200, 200, 200, 200, 200, 429, 429]


def session_cookie(url: str) -> str:
    with logged_in(url, PASSWORD) as session:
        return session.cookies["sessionid"]


def test_a_dashboard_on_one_node_sees_the_requests_of_the_other(nodes):
    (_, url_a), (_, url_b) = nodes["a"], nodes["b"]
    ws = url_b.replace("http://", "ws://") + "/ws/dashboard/"
    headers = {"Cookie": f"sessionid={session_cookie(url_b)}", "Origin": url_b}
    with connect(ws, additional_headers=headers, open_timeout=5) as socket:
        request_id = chat(url_a, "echo+words:3").headers["x-request-id"]
        seen = set()
        while request_id not in seen:
            message = json.loads(socket.recv(timeout=10))
            seen |= {e["request"]["id"] for e in message["events"]}


def test_a_configuration_change_on_one_node_reaches_the_other_within_two_seconds(nodes):
    (a, _), (_, url_b) = nodes["a"], nodes["b"]
    manage(
        a,
        "shell",
        "-c",
        "from routing.models import ModelMapping; "
        "ModelMapping.objects.create(pattern='cross-node', replacement='echo+words:2')",
    )
    start = time.monotonic()
    while chat(url_b, "cross-node").json()["choices"][0]["message"]["content"] != "w0 w1":
        assert time.monotonic() - start < 2.0
        time.sleep(0.05)


def test_exports_span_the_nodes(nodes, tmp_path):
    (a, url_a), (_, url_b) = nodes["a"], nodes["b"]
    for url in (url_a, url_b):
        wait_state(a, chat(url, body={"workflow_id": "both-nodes"}).headers["x-request-id"])
    manage(a, "export_chatml", "--workflow", "both-nodes", "--out", str(tmp_path))
    lines = (tmp_path / "both-nodes" / "conversations.jsonl").read_text().splitlines()
    assert len(lines) == 2
    nodes_seen = query(
        a, "SELECT DISTINCT node FROM recording_requestlog WHERE workflow = %s", "both-nodes"
    )
    assert len(nodes_seen) == 2


def test_a_killed_node_marks_only_its_own_rows_interrupted(e2e_dir, fake, shared, nodes):
    victim, url = start_gateway(e2e_dir, fake, **shared)
    (_, url_b) = nodes["b"]
    slow = {"stream": True}
    ids = {}

    def stream(name: str, target: str) -> None:
        try:
            with httpx.stream(
                "POST",
                f"{target}/v1/chat/completions",
                timeout=30,
                json={"model": "echo+words:40+delay:150", "messages": USER, **slow},
            ) as r:
                ids[name] = r.headers["x-request-id"]
                r.read()
        except httpx.HTTPError:
            pass

    threads = [
        threading.Thread(target=stream, args=(n, t))
        for n, t in (("victim", url), ("survivor", url_b))
    ]
    for thread in threads:
        thread.start()
    while len(ids) < 2:
        time.sleep(0.05)
    wait_state(victim, ids["victim"], final=False)
    victim.stop(signal.SIGKILL)
    port = url.rsplit(":", 1)[1]
    again = Process(
        ["runproxy", "--port", port], victim.env, Path(victim.env["DATA_DIR"]) / "again.log"
    )
    try:
        again.wait_until_ready(f"{url}/health")
        assert wait_state(again, ids["victim"]) == "interrupted"
        assert query(
            again, "SELECT state FROM recording_requestlog WHERE id = %s", ids["survivor"]
        )[0][0] in ("in_progress", "ok")
    finally:
        again.stop()
        for thread in threads:
            thread.join()
    assert wait_state(again, ids["survivor"]) == "ok"


def start_workers(e2e_dir: Path, fake: str, env: dict) -> tuple[Process, str]:
    port = free_port()
    data = e2e_dir / f"workers-{port}"
    data.mkdir()
    proc = Process(
        ["runproxy", "--port", str(port), "--workers", "2"],
        base_env(data, DEFAULT_UPSTREAM=fake, **env),
        data / "gateway.log",
    )
    url = f"http://127.0.0.1:{port}"
    proc.wait_until_ready(f"{url}/health", timeout=60)
    return proc, url


def children(proc: Process) -> int:
    out = subprocess.run(["pgrep", "-P", str(proc.proc.pid)], capture_output=True, text=True)
    return len(out.stdout.split())


def test_two_workers_serve_concurrent_streams(e2e_dir, fake, shared):
    proc, url = start_workers(e2e_dir, fake, shared)
    try:
        assert children(proc) >= 2

        def stream(i: int) -> str:
            with httpx.stream(
                "POST",
                f"{url}/v1/chat/completions",
                timeout=30,
                json={"model": "echo+words:10+delay:100", "stream": True, "messages": USER},
            ) as r:
                return r.read().decode()

        with ThreadPoolExecutor(8) as pool:
            texts = list(pool.map(stream, range(8)))
        assert all(t.rstrip().endswith("data: [DONE]") for t in texts)
    finally:
        proc.stop()


def test_sqlite_with_two_workers_loses_no_row_under_concurrent_writes(e2e_dir, fake):
    proc, url = start_workers(e2e_dir, fake, {"REDIS_URL": REDIS, "RECORD_FLUSH_SECONDS": "0.05"})
    try:

        def one(i: int) -> str:
            return chat(url, body={"workflow_id": "sqlite-2w"}).headers["x-request-id"]

        with ThreadPoolExecutor(16) as pool:
            ids = set(pool.map(one, range(300)))
        database = Path(proc.env["DATA_DIR"]) / "llmproxy.sqlite3"
        for _ in range(100):
            with sqlite3.connect(database) as db:
                count = db.execute(
                    "SELECT count(*) FROM recording_requestlog WHERE "
                    "workflow = 'sqlite-2w' AND state = 'ok'"
                ).fetchone()[0]
            if count == 300:
                break
            time.sleep(0.1)
        assert len(ids) == 300 and count == 300
    finally:
        proc.stop()
    assert "database is locked" not in proc.output()


def test_a_dead_upstream_learnt_by_one_node_is_skipped_by_the_other(e2e_dir, fake, shared):
    dead = f"http://127.0.0.1:{free_port()}"
    settings = {**shared, "COOLDOWN_FAILURES": "1", "COOLDOWN_SECONDS": "60"}
    a, url_a = start_gateway(e2e_dir, f"{dead},{fake}", **settings)
    b, url_b = start_gateway(e2e_dir, f"{dead},{fake}", **settings)
    try:
        first = chat(url_a)
        assert first.status_code == 200
        wait_state(a, first.headers["x-request-id"])
        rows = query(
            a,
            "SELECT attempts FROM recording_requestlog WHERE id = %s",
            first.headers["x-request-id"],
        )
        assert [t["upstream"] for t in rows[0][0]] == ["default", "default-2"]
        time.sleep(1.5)  # node b reads the shared cooldowns once a second
        second = chat(url_b)
        wait_state(b, second.headers["x-request-id"])
        rows = query(
            b,
            "SELECT attempts, upstream FROM recording_requestlog WHERE id = %s",
            second.headers["x-request-id"],
        )
        assert rows[0] == (None, "default-2")  # one try: straight past the dead one
    finally:
        a.stop()
        b.stop()
