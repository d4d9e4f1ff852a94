"""Benchmark, side by side on one fake upstream over loopback, measured with wrk: the
upstream directly, the gateway as shipped (and its variants), the gateway with 2 workers,
and LiteLLM's proxy.

    make bench                      # or: .venv/bin/python scripts/bench.py --duration 10
    make bench BENCH_ARGS="--no-litellm --no-scale --dashboard-rows 0"   # the quick part

Prints a Markdown table: requests/s, p50 and p99 at several concurrencies, streaming time
to first byte and the rate a long stream is relayed at, each proxy's CPU per request and
peak memory, then the ratios against direct and against LiteLLM.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_apis import front_door_table, front_doors  # noqa: E402
from scripts.bench_dashboard import dashboard_timings, limiter_cost  # noqa: E402
from scripts.bench_litellm import LiteLLM  # noqa: E402
from scripts.bench_measure import (  # noqa: E402
    BODY,
    EMBED_BODY,
    cpu_seconds,
    peak_rss_mb,
    relay_tokens_per_s,
    run_wrk,
    ttfb_ms,
    wrk_script,
)
from scripts.bench_report import LITELLM, SHIPPED, TRACED, embeddings_table, report  # noqa: E402
from tests.e2e.procs import Process, start_fake, start_gateway  # noqa: E402


def measure(name: str, url: str, pid: int | None, script: Path, args) -> dict:
    path = f"{url}/v1/chat/completions"
    ttfb_ms(url, 50)  # warm-up
    row: dict = {"name": name, "loads": {}, "ttfb_ms": ttfb_ms(url, args.stream_rounds)}
    row["relay"] = relay_tokens_per_s(url)
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


def measure_embeddings(name: str, url: str, pid: int | None, script: Path, args) -> dict:
    """Requests/s and CPU per request of POST /v1/embeddings at one concurrency."""
    path, connections = f"{url}/v1/embeddings", max(args.concurrency)
    run_wrk(path, script, connections, 1)  # warm-up
    cpu_before = cpu_seconds(pid) if pid else 0.0
    time.sleep(args.pause)
    load = run_wrk(path, script, connections, args.duration)
    row = {"name": name, "load": load, "connections": connections}
    if pid:
        row["cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000 / load.requests
    return row


PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/8"
WORKERS = "gateway, 2 workers (SQLite + Redis)"


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
        (WORKERS, ["--workers", "2"], {"REDIS_URL": REDIS}),
        ("gateway on PostgreSQL + Redis", [], {"DATABASE_URL": database, "REDIS_URL": REDIS}),
    ]


def variants(compare: bool, fake_url: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """The gateway as shipped, and with --compare the alternatives it was chosen over."""
    shipped = [
        ("gateway (recording on)", [], {}),
        ("gateway, recording off", [], {"ENABLE_LOGGING": "false"}),
        ("gateway + rate limit counted", [], {"RATE_LIMIT": "1000000000/1m"}),
        ("gateway, answers from its cache", [], {"CACHE_ENABLED": "true"}),
        # every request a span, exported to the fake upstream's OTLP sink
        (TRACED, [], {"OTEL_EXPORTER_OTLP_ENDPOINT": fake_url, "OTEL_BSP_SCHEDULE_DELAY": "500"}),
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
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32, 128])
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
    parser.add_argument(
        "--no-litellm",
        dest="litellm",
        action="store_false",
        help="leave out LiteLLM's proxy (installed into .bench/litellm on first use)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    procs: list[Process] = []
    apis: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = wrk_script(work)
        embed_script = wrk_script(work, EMBED_BODY, "embed.lua")
        try:
            fake, fake_url = start_fake(work)
            procs.append(fake)
            rows = [measure("direct to fake upstream", fake_url, None, script, args)]
            embed_rows = [measure_embeddings("direct", fake_url, None, embed_script, args)]
            limiter_env = {**fake.env, "DATA_DIR": str(work)}
            for name, extra_args, env in variants(args.compare, fake_url) + scale_variants(
                args.scale
            ):
                gateway, gateway_url = start_gateway(work, fake_url, *extra_args, **env)
                procs.append(gateway)
                rows.append(measure(name, gateway_url, gateway.proc.pid, script, args))
                if name == SHIPPED:
                    embed_rows.append(
                        measure_embeddings(
                            "gateway", gateway_url, gateway.proc.pid, embed_script, args
                        )
                    )
                    apis = front_doors(gateway_url, gateway.proc.pid, args.stream_rounds)
                gateway.stop()
            if args.litellm:
                litellm = LiteLLM(work, fake_url, sys.executable)
                procs.append(litellm)
                rows.append(measure(LITELLM, litellm.url, litellm.proc.pid, script, args))
                litellm.stop()
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
    print("\n" + embeddings_table(embed_rows, EMBED_BODY))
    if apis:
        print("\n" + front_door_table(apis) + "\n")
    print(
        f"- counting one request against a rate limit takes {limiter_cost(limiter_env):.1f} "
        "µs (in-process cache)"
    )
    if dashboard:
        print("\n" + dashboard)


if __name__ == "__main__":
    main()
