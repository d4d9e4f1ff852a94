"""Prometheus metrics, served at GET /metrics (analytics.metrics_view).

Requests, latencies, tokens, cache hits and rate-limit refusals are counted from the
rows the recording writer has just written (its `on_written` listener), so the request
path does no extra work; with recording off (ENABLE_LOGGING=false) they stay at zero.
The upstreams' health and the requests in flight are read when Prometheus scrapes.

With several workers (`runproxy --workers N`) each worker keeps its figures in files
under PROMETHEUS_MULTIPROC_DIR, and the worker that answers a scrape adds them up.
Labels carry names only (service, kind, endpoint, model, upstream, status): never a key,
a header or a client address.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from analytics.health import upstream_health
from routing.upstreams.health import health

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# From an answer out of the cache (10 ms) to a long generation (5 min).
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
MAX_MODELS = 100  # model labels per process: clients choose the names, so cap them
OTHER_MODEL = "other"
SLICE = 50  # rows counted between two chances for requests to run (~0.7 ms)
RATE_LIMITED_STATUS = 429

registry = CollectorRegistry()
REQUESTS = Counter(
    "llmproxy_requests",
    "Finished requests.",
    ["service", "kind", "endpoint", "model", "upstream", "status"],
    registry=registry,
)
DURATION = Histogram(
    "llmproxy_request_duration_seconds",
    "Time from a request's arrival to its last byte.",
    ["model", "upstream"],
    buckets=BUCKETS,
    registry=registry,
)
TTFT = Histogram(
    "llmproxy_time_to_first_token_seconds",
    "Time from a request's arrival to its first token.",
    ["model", "upstream"],
    buckets=BUCKETS,
    registry=registry,
)
PROMPT_TOKENS = Counter("llmproxy_prompt_tokens", "Prompt tokens.", ["model"], registry=registry)
COMPLETION_TOKENS = Counter(
    "llmproxy_completion_tokens", "Completion tokens.", ["model"], registry=registry
)
CACHE_HITS = Counter(
    "llmproxy_cache_hits",
    "Requests answered from the response cache.",
    ["model"],
    registry=registry,
)
RATE_LIMITED = Counter(
    "llmproxy_rate_limited", "Requests refused by a rate limit.", ["service"], registry=registry
)
TRACE_SPANS_DROPPED = Counter(
    "llmproxy_trace_spans_dropped",
    "Trace spans not exported: the queue was full or the collector refused or was away.",
    registry=registry,
)
IN_FLIGHT = Gauge(
    "llmproxy_requests_in_flight",
    "Requests being sent to or streamed from an upstream.",
    multiprocess_mode="livesum",
    registry=registry,
)
_models: set[str] = set()
_endpoints: set[str] = set()  # pass-through paths are the clients' to choose: capped too


# --- counted from the written rows, off the request path ------------------------------
def model_label(name: str, seen: set[str] | None = None) -> str:
    """The name, or OTHER_MODEL past MAX_MODELS names (models by default)."""
    seen = _models if seen is None else seen
    if name not in seen and len(seen) >= MAX_MODELS:
        return OTHER_MODEL
    seen.add(name)
    return name


def count_dropped_spans(n: int) -> None:
    TRACE_SPANS_DROPPED.inc(n)


def count_request(row: dict) -> None:
    """Count one finished request, a row of RequestLog's columns."""
    model, upstream = model_label(row.get("model_in") or ""), row.get("upstream") or ""
    status = row.get("status")
    kind, endpoint = row.get("kind") or "", model_label(row["endpoint"], _endpoints)
    REQUESTS.labels(row["service"], kind, endpoint, model, upstream, str(status or "")).inc()
    if row.get("duration_ms") is not None:
        DURATION.labels(model, upstream).observe(row["duration_ms"] / 1000)
    if row.get("ttft_ms") is not None:
        TTFT.labels(model, upstream).observe(row["ttft_ms"] / 1000)
    if row.get("prompt_tokens"):
        PROMPT_TOKENS.labels(model).inc(row["prompt_tokens"])
    if row.get("completion_tokens"):
        COMPLETION_TOKENS.labels(model).inc(row["completion_tokens"])
    if row.get("cache_hit"):
        CACHE_HITS.labels(model).inc()
    # The gateway's own limit refuses before routing, so the row names no upstream
    # (an upstream's 429 names the upstream that sent it).
    if status == RATE_LIMITED_STATUS and not upstream:
        RATE_LIMITED.labels(row["service"]).inc()


async def count_written_requests(events: list[tuple[str, dict]]) -> None:
    """The writer's listener: every finished row, once."""
    for n, (kind, row) in enumerate(events, 1):
        if kind == "finished":
            count_request(row)
        if n % SLICE == 0:
            await asyncio.sleep(0)  # ~15 µs a row: let requests run between slices


# --- read at scrape time ------------------------------------------------------------
def requests_in_flight() -> int:
    return sum(row["inflight"] for row in health.snapshot())


class UpstreamCollector:
    """Every configured upstream's health, as the process answering the scrape sees it."""

    def describe(self) -> list:
        return []  # nothing to check at registration; collect() runs at scrape time

    def collect(self) -> list[GaugeMetricFamily]:
        labels = ["upstream"]
        up = GaugeMetricFamily(
            "llmproxy_upstream_up", "0 while the upstream is in cooldown, else 1.", labels=labels
        )
        failures = GaugeMetricFamily(
            "llmproxy_upstream_failures", "Failed requests in a row.", labels=labels
        )
        inflight = GaugeMetricFamily(
            "llmproxy_upstream_in_flight", "Requests in flight to the upstream.", labels=labels
        )
        for row in upstream_health():
            name = [row["upstream"]]
            up.add_metric(name, 0 if row["status"] == "cooldown" else 1)
            failures.add_metric(name, row["failures"])
            inflight.add_metric(name, row["inflight"])
        return [up, failures, inflight]


registry.register(UpstreamCollector())


def render() -> bytes:
    """The text Prometheus reads: this process's figures, or every worker's."""
    IN_FLIGHT.set(requests_in_flight())
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return generate_latest(registry)
    forget_dead_workers(path)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path)
    merged.register(UpstreamCollector())
    return generate_latest(merged)


# --- several workers ------------------------------------------------------------------
def use_multiprocess_dir(default: Path) -> Path:
    """In the parent, before the workers start: an empty directory for their figures."""
    path = Path(os.environ.get(MULTIPROC_ENV) or default)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def forget_dead_workers(path: str) -> None:
    """A worker uvicorn replaced must not add its last in-flight figure forever."""
    for file in Path(path).glob("gauge_live*_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)
        except PermissionError:  # alive, under another user
            pass


async def follow_in_flight(interval: float = 1.0) -> None:
    """With several workers: keep this worker's in-flight figure fresh for the others."""
    while os.environ.get(MULTIPROC_ENV):
        IN_FLIGHT.set(requests_in_flight())
        await asyncio.sleep(interval)
