"""Paced load with recording on, on SQLite and on PostgreSQL: every request sent and
answered ends up as exactly one row; none is lost on the way to the database."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import psycopg
import pytest

from tests.e2e.procs import start_gateway
from tests.reliability.helpers import query, wait_until

pytestmark = pytest.mark.e2e
PG = "postgres://postgres@127.0.0.1:5432"


async def paced_load(url: str, rate: int, seconds: int) -> list[tuple[int, float]]:
    """`rate` requests a second for `seconds`, each sent on time whatever the answers do;
    (status, seconds taken) for each, status 0 when it failed below HTTP."""
    body = {"model": "echo", "messages": [{"role": "user", "content": "count me"}]}
    timeout = aiohttp.ClientTimeout(total=60)

    async def one(session: aiohttp.ClientSession) -> tuple[int, float]:
        started = time.monotonic()
        try:
            async with session.post(f"{url}/v1/chat/completions", json=body) as response:
                await response.read()
                return response.status, time.monotonic() - started
        except (aiohttp.ClientError, TimeoutError):
            return 0, time.monotonic() - started

    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start, tasks = loop.time(), []
        for i in range(rate * seconds):
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            tasks.append(asyncio.create_task(one(session)))
        return await asyncio.gather(*tasks)


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for one run, dropped afterwards."""
    name = f"llmproxy_reliability_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def row_counts(proc, database: str) -> tuple[int, int]:
    """(rows, rows still in progress)."""
    sql = "SELECT count(*), count(*) FILTER (WHERE state = 'in_progress') FROM recording_requestlog"
    if database == "sqlite":
        return tuple(query(proc, sql)[0].values())
    with psycopg.connect(proc.env["DATABASE_URL"]) as db:
        return db.execute(sql).fetchone()


@pytest.mark.parametrize(
    ("database", "rate", "seconds"),
    [
        pytest.param("sqlite", 100, 3, id="sqlite-100/s-3s"),
        pytest.param("sqlite", 200, 30, id="sqlite-200/s-30s", marks=pytest.mark.soak),
        pytest.param("postgres", 200, 30, id="postgres-200/s-30s", marks=pytest.mark.soak),
    ],
)
def test_paced_writes_lose_no_row(e2e_dir, fake, figure, request, database, rate, seconds):
    env = (
        {"DATABASE_URL": request.getfixturevalue("postgres_url")} if database == "postgres" else {}
    )
    proc, url = start_gateway(e2e_dir, fake, **env)
    try:
        started = time.monotonic()
        answers = asyncio.run(paced_load(url, rate, seconds))
        took = time.monotonic() - started
        answered_at = time.monotonic()
        sent = len(answers)
        counts = wait_until(lambda: (c := row_counts(proc, database)) == (sent, 0) and c, 30)
        lag = time.monotonic() - answered_at
        rows, open_rows = counts or row_counts(proc, database)
    finally:
        proc.stop()

    ok = sum(status == 200 for status, _ in answers)
    latencies = sorted(t for _, t in answers)
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    results = [
        figure(name, value, unit, threshold, ok_)
        for name, value, unit, threshold, ok_ in [
            (
                "requests sent",
                sent,
                f"in {took:.1f} s",
                f"= {rate * seconds}",
                sent == rate * seconds,
            ),
            ("answered 200", ok, "", f"= {sent}", ok == sent),
            ("rows written", rows, "", f"= {sent}", rows == sent),
            ("rows left in progress", open_rows, "", "= 0", open_rows == 0),
            ("p99 latency", p99, "ms", "-", True),
            ("last row written after the last answer", lag * 1000, "ms", "< 30000", lag < 30),
        ]
    ]
    assert all(results)
