"""What the fault suite reads from outside a gateway: its rows, its memory, its sockets."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.procs import ROOT, Process, create_admin, logged_in, manage  # noqa: F401

USER = [{"role": "user", "content": "hello"}]


def database(proc: Process) -> Path:
    return Path(proc.env["DATA_DIR"]) / "llmproxy.sqlite3"


def query(proc: Process, sql: str, *args: object) -> list[dict]:
    """Rows of the gateway's SQLite file, opened read-only as an outsider would."""
    with sqlite3.connect(f"file:{database(proc)}?mode=ro", uri=True, timeout=10) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args)]


def row_states(proc: Process) -> dict[str, str]:
    """request id (hex) -> state, for every row."""
    return {r["id"]: r["state"] for r in query(proc, "SELECT id, state FROM recording_requestlog")}


def hex_id(response: httpx.Response) -> str:
    return response.headers["x-request-id"].replace("-", "")


def wait_until(check: Callable[[], object], timeout: float, every: float = 0.05) -> object:
    """The first truthy result of `check`, or its last result after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def socket_inodes(pid: int) -> set[str]:
    """Sockets the process holds open (listening, clients, upstream pool, database)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def open_sockets(pid: int) -> int:
    return len(socket_inodes(pid))


def settled_sockets(pid: int, timeout: float = 3.0) -> int:
    """The socket count once it stops falling (closing connections take a moment)."""
    last = open_sockets(pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = open_sockets(pid)
        if now >= last:
            return now
        last = now
    return last


def restart(proc: Process, url: str, log_name: str) -> Process:
    """The same gateway again: same port, same DATA_DIR, same environment."""
    port = url.rsplit(":", 1)[1]
    again = Process(["runproxy", "--port", port], proc.env, Path(proc.env["DATA_DIR"]) / log_name)
    again.wait_until_ready(f"{url}/health")
    return again


def tcp_connections(pid: int) -> list[tuple[int, int, str]]:
    """(local port, remote port, state) of every TCP socket the process holds open."""
    inodes = socket_inodes(pid)
    states = {"01": "established", "0A": "listen", "08": "close_wait", "06": "time_wait"}
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
                found.append((local, remote, states.get(fields[3], fields[3])))
    return found


def in_progress(proc: Process) -> int:
    sql = "SELECT count(*) AS n FROM recording_requestlog WHERE state = 'in_progress'"
    return query(proc, sql)[0]["n"]
