"""Benchmark: the fake upstream directly vs through the gateway, on loopback, with wrk.

    make bench                      # or: .venv/bin/python scripts/bench.py --duration 10

Prints a Markdown table: requests/s, p50 and p99 at several concurrencies, the
gateway's added latency, streaming time to first byte, and the gateway's CPU per
request and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.procs import Process, start_fake, start_gateway  # noqa: E402

BODY = {"model": "echo", "messages": [{"role": "user", "content": "Hello there, how are you?"}]}
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


def wrk_script(directory: Path) -> Path:
    path = directory / "post.lua"
    body = json.dumps(BODY).replace("'", "\\'")
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{body}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> Load:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses from {url}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(rps, to_ms(percentiles["50"]), to_ms(percentiles["99"]), requests)


def process_tree(pid: int) -> list[int]:
    """The gateway and its worker processes, if any."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(int(child) for child in found.split())]


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for each in process_tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of the gateway, its workers summed."""
    total = 0
    for each in process_tree(pid):
        status = Path(f"/proc/{each}/status").read_text()
        total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return total / 1024


def ttfb_ms(url: str, rounds: int) -> float:
    """Median time from sending a streaming request to its first content event.

    A raw keep-alive socket sends each request in one write, so the figure is the
    servers' time, not a client library's.
    """
    body = json.dumps({**BODY, "model": "echo+words:20", "stream": True}).encode()
    parts = urlsplit(url)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    samples = []
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            start = time.perf_counter()
            sock.sendall(request)
            buffer = b""
            while b'"content":"w' not in buffer:
                buffer += sock.recv(65536)
            samples.append((time.perf_counter() - start) * 1000)
            while not buffer.endswith(b"0\r\n\r\n"):  # the end of the chunked body
                buffer += sock.recv(65536)
    return statistics.median(samples)


def measure(name: str, url: str, pid: int | None, script: Path, args) -> dict:
    path = f"{url}/v1/chat/completions"
    ttfb_ms(url, 50)  # warm-up
    row: dict = {"name": name, "loads": {}, "ttfb_ms": ttfb_ms(url, args.stream_rounds)}
    run_wrk(path, script, max(args.concurrency), 2)  # warm-up: connections, caches, imports
    cpu_before = cpu_seconds(pid) if pid else 0.0
    total = 0
    for connections in args.concurrency:
        time.sleep(args.pause)  # let the previous run's aborted connections settle
        load = run_wrk(path, script, connections, args.duration)
        row["loads"][connections] = load
        total += load.requests
    if pid:
        row["cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000 / total
        row["rss_mb"] = peak_rss_mb(pid)
    return row


def report(rows: list[dict], concurrency: list[int]) -> str:
    direct = rows[0]
    head = ["target"]
    for c in concurrency:
        head += [f"c={c} req/s", f"c={c} p50 ms", f"c={c} p99 ms"]
    head += ["stream TTFB ms", "CPU ms/req", "peak RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["name"]]
        for c in concurrency:
            load = row["loads"][c]
            cells += [f"{load.rps:,.0f}", f"{load.p50_ms:.2f}", f"{load.p99_ms:.2f}"]
        cells += [
            f"{row['ttfb_ms']:.2f}",
            f"{row.get('cpu_ms', 0):.2f}" if "cpu_ms" in row else "-",
            f"{row['rss_mb']:.0f}" if "rss_mb" in row else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for row in rows[1:]:
        first, mid = concurrency[0], concurrency[len(concurrency) // 2]
        added = row["loads"][first].p50_ms - direct["loads"][first].p50_ms
        share = row["loads"][mid].rps / direct["loads"][mid].rps
        lines.append(
            f"- {row['name']}: adds {added:.2f} ms to p50 at c={first}, "
            f"{row['ttfb_ms'] - direct['ttfb_ms']:.2f} ms to stream TTFB; "
            f"serves {share:.1%} of direct throughput at c={mid}"
        )
    if len(rows) > 2:
        on, off, first = rows[1], rows[2], concurrency[0]
        added_on = on["loads"][first].p50_ms - direct["loads"][first].p50_ms
        added_off = off["loads"][first].p50_ms - direct["loads"][first].p50_ms
        lines.append(
            f"- recording costs {added_on - added_off:+.2f} ms of added p50 at c={first} "
            f"({added_on / added_off - 1:+.0%} of the no-recording overhead), "
            f"{on['cpu_ms'] - off['cpu_ms']:+.2f} ms CPU per request"
        )
    by_name = {row["name"]: row for row in rows}
    base = by_name.get("gateway (recording on)")
    limited = by_name.get("gateway + rate limit counted")
    cached = by_name.get("gateway, answers from its cache")
    if base and limited:
        lines.append(
            f"- rate limiting costs {limited['cpu_ms'] - base['cpu_ms']:+.2f} ms CPU per request "
            "in this run (the counting alone: see below)"
        )
    if base and cached:
        mid = concurrency[len(concurrency) // 2]
        lines.append(
            f"- a cache hit answers {cached['loads'][mid].rps / base['loads'][mid].rps:.1f}"
            f"x as many requests/s as going upstream at c={mid}, with "
            f"{cached['cpu_ms']:.2f} ms CPU per request"
        )
    return "\n".join(lines)


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
from routing.limits import hit
from routing.rates import Rate
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


PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/8"


def fresh_postgres() -> str:
    """A new, empty PostgreSQL database for one run (dropped when the next run starts)."""
    import psycopg

    with psycopg.connect(f"{PG}/test", autocommit=True) as db:
        db.execute('DROP DATABASE IF EXISTS "llmproxy_bench" WITH (FORCE)')
        db.execute('CREATE DATABASE "llmproxy_bench"')
    return f"{PG}/llmproxy_bench"


def scale_variants(scale: bool) -> list[tuple[str, list[str], dict[str, str]]]:
    """Several workers, and PostgreSQL for the log, with the machine's Redis."""
    if not scale:
        return []
    try:
        database = fresh_postgres()
    except Exception as exc:  # no PostgreSQL here: the rest of the benchmark still runs
        print(f"(no PostgreSQL rows: {exc})")
        return []
    return [
        ("gateway, 2 workers (SQLite + Redis)", ["--workers", "2"], {"REDIS_URL": REDIS}),
        ("gateway on PostgreSQL + Redis", [], {"DATABASE_URL": database, "REDIS_URL": REDIS}),
    ]


def variants(compare: bool) -> list[tuple[str, list[str], dict[str, str]]]:
    """The gateway as shipped, and with --compare the alternatives it was chosen over."""
    shipped = [
        ("gateway (recording on)", [], {}),
        ("gateway, recording off", [], {"ENABLE_LOGGING": "false"}),
        ("gateway + rate limit counted", [], {"RATE_LIMIT": "1000000000/1m"}),
        ("gateway, answers from its cache", [], {"CACHE_ENABLED": "true"}),
    ]
    if not compare:
        return shipped
    return [
        *shipped,
        ("gateway on daphne", ["--server", "daphne"], {}),
        ("gateway with httpx's own pool", [], {"UPSTREAM_TRANSPORT": "httpx"}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--stream-rounds", type=int, default=200)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
    parser.add_argument(
        "--no-scale",
        dest="scale",
        action="store_false",
        help="leave out the rows with workers and PostgreSQL",
    )
    parser.add_argument(
        "--dashboard-rows",
        type=int,
        default=1_000_000,
        help="logged requests for the dashboard timings (0: skip)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="also measure daphne and httpx's default transport"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    procs: list[Process] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = wrk_script(work)
        try:
            fake, fake_url = start_fake(work)
            procs.append(fake)
            rows = [measure("direct to fake upstream", fake_url, None, script, args)]
            limiter_env = {**fake.env, "DATA_DIR": str(work)}
            for name, extra_args, env in variants(args.compare) + scale_variants(args.scale):
                gateway, gateway_url = start_gateway(work, fake_url, *extra_args, **env)
                procs.append(gateway)
                rows.append(measure(name, gateway_url, gateway.proc.pid, script, args))
                gateway.stop()
            dashboard = (
                dashboard_timings(work, fake_url, args.dashboard_rows)
                if args.dashboard_rows
                else ""
            )
        finally:
            for proc in procs:
                proc.stop()
    print(
        f"\nBenchmark {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"wrk {args.duration:g} s per run, body {len(json.dumps(BODY))} bytes\n"
    )
    print(report(rows, args.concurrency))
    print(
        f"- counting one request against a rate limit takes {limiter_cost(limiter_env):.1f} "
        "µs (in-process cache)"
    )
    if dashboard:
        print("\n" + dashboard)


if __name__ == "__main__":
    main()
