"""Dashboard timings on a large generated log, and the cost of counting a rate limit."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.procs import start_gateway

ROOT = Path(__file__).resolve().parents[1]

DASHBOARD_URLS = [
    "/api/stats",
    "/api/stats?range=24h",
    "/api/logs",
    "/api/logs?model=llama3-70b&status=502",
    "/api/performance",
    "/api/performance?range=7d",
    "/api/inflight",
    "/",
]


def dashboard_timings(work: Path, fake_url: str, rows: int) -> str:
    """Median answer times of the dashboard's APIs with `rows` generated request logs."""
    gateway, url = start_gateway(work, fake_url, ENABLE_LOGGING="false")
    env = gateway.env
    try:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(
            [*manage, "generate_logs", "--count", str(rows)],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *manage,
                "createsuperuser",
                "--noinput",
                "--username",
                "bench",
                "--email",
                "bench@example.com",
            ],
            env={**env, "DJANGO_SUPERUSER_PASSWORD": "bench-password-1"},
            check=True,
            capture_output=True,
        )
        lines = [f"| request ({rows:,} logged requests, SQLite) | median ms |", "|---|---|"]
        with httpx.Client(base_url=url, timeout=60) as session:
            session.get("/admin/login/")
            session.post(
                "/admin/login/",
                data={
                    "username": "bench",
                    "password": "bench-password-1",
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
            )
            for path in DASHBOARD_URLS:
                accept = "text/html" if path == "/" else "application/json"
                times = []
                for _ in range(7):
                    start = time.perf_counter()
                    response = session.get(path, headers={"Accept": accept})
                    response.raise_for_status()
                    times.append((time.perf_counter() - start) * 1000)
                label = "dashboard first paint (HTML)" if path == "/" else path
                lines.append(f"| `{label}` | {statistics.median(times):.1f} |")
    finally:
        gateway.stop()
    return "\n".join(lines)


LIMITER = """
import asyncio, os, time
os.environ["DJANGO_SETTINGS_MODULE"] = "llmproxy.settings"
import django; django.setup()
from routing.guard.limits import hit
from routing.rules.rates import Rate
async def main():
    rate, start = Rate(10**9, 60), time.perf_counter()
    for _ in range(20000):
        await hit("ip:127.0.0.1", rate)
    print((time.perf_counter() - start) / 20000 * 1e6)
asyncio.run(main())
"""


def limiter_cost(env: dict[str, str]) -> float:
    """Microseconds to count one request against a limit, in the local cache."""
    out = subprocess.run(
        [sys.executable, "-c", LIMITER],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())
