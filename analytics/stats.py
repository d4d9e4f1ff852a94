"""Statistics over a time range, fast on millions of rows.

Sums come from HourlyStat for the whole hours inside the range and from the log
itself for the partial hours at its edges (an indexed, bounded scan). Medians and
percentiles come from a sample: the latest finished requests of the range.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from recording.models import HourlyStat, RequestLog, State
from recording.rollup import SUMS, hour_of
from routing.apis import SERVICES

RANGES = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
SAMPLE = 10_000
FINISHED = ~Q(state=State.IN_PROGRESS)


def range_start(name: str, now: datetime) -> datetime | None:
    span = RANGES.get(name, RANGES["24h"])
    return None if span is None else now - span


def _raw_sums(
    start: datetime | None, end: datetime, service: str, key: str | None
) -> dict[tuple, list]:
    rows = RequestLog.objects.filter(FINISHED, started_at__lt=end)
    if start is not None:
        rows = rows.filter(started_at__gte=start)
    if service:
        rows = rows.filter(service=service)
    if key is not None:
        rows = rows.filter(gateway_key=key)
    grouped = (
        rows.values("service", "model_in")
        .order_by()
        .annotate(
            requests=Count("id"),
            errors=Count("id", filter=Q(state__in=[State.ERROR, State.INTERRUPTED])),
            cancelled=Count("id", filter=Q(state=State.CANCELLED)),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            duration_ms_sum=Sum("duration_ms"),
            duration_count=Count("duration_ms"),
            ttft_ms_sum=Sum("ttft_ms"),
            ttft_count=Count("ttft_ms"),
        )
    )
    return {(g["service"], g["model_in"]): [g[k] or 0 for k in SUMS] for g in grouped}


def _rollup_sums(
    first_hour: datetime | None, last_hour: datetime, service: str, key: str | None
) -> dict:
    rows = HourlyStat.objects.filter(hour__lt=last_hour)
    if first_hour is not None:
        rows = rows.filter(hour__gte=first_hour)
    if service:
        rows = rows.filter(service=service)
    if key is not None:
        rows = rows.filter(gateway_key=key)
    grouped = (
        rows.values("service", "model").order_by().annotate(**{f"s_{k}": Sum(k) for k in SUMS})
    )
    return {(g["service"], g["model"]): [g[f"s_{k}"] or 0 for k in SUMS] for g in grouped}


def range_sums(
    start: datetime | None, end: datetime, service: str = "", key: str | None = None
) -> dict[tuple, list]:
    """Sums (in SUMS order) per (service, model) of the requests finished in [start, end)."""
    first_whole = (
        None
        if start is None
        else hour_of(start) + (timedelta(hours=1) if start != hour_of(start) else timedelta(0))
    )
    last_whole = hour_of(end)
    parts = []
    if first_whole is not None and first_whole >= last_whole:
        parts.append(_raw_sums(start, end, service, key))
    else:
        parts.append(_rollup_sums(first_whole, last_whole, service, key))
        if start is not None and start < first_whole:
            parts.append(_raw_sums(start, first_whole, service, key))
        parts.append(_raw_sums(last_whole, end, service, key))
    merged: dict[tuple, list] = defaultdict(lambda: [0] * len(SUMS))
    for part in parts:
        for key, values in part.items():
            merged[key] = [a + b for a, b in zip(merged[key], values, strict=True)]
    return dict(merged)


def summarize(values: list) -> dict:
    s = dict(zip(SUMS, values, strict=True))
    requests = s["requests"]
    return {
        "requests": requests,
        "errors": s["errors"],
        "cancelled": s["cancelled"],
        "error_rate": s["errors"] / requests if requests else 0.0,
        "prompt_tokens": int(s["prompt_tokens"]),
        "completion_tokens": int(s["completion_tokens"]),
        "avg_duration_ms": s["duration_ms_sum"] / s["duration_count"]
        if s["duration_count"]
        else None,
        "avg_ttft_ms": s["ttft_ms_sum"] / s["ttft_count"] if s["ttft_count"] else None,
        "tokens_per_second": s["completion_tokens"] * 1000 / s["duration_ms_sum"]
        if s["duration_ms_sum"]
        else None,
    }


def total(sums: dict[tuple, list]) -> list:
    out = [0] * len(SUMS)
    for values in sums.values():
        out = [a + b for a, b in zip(out, values, strict=True)]
    return out


def sample(start: datetime | None, end: datetime, service: str = "", limit: int = SAMPLE):
    """The latest finished requests of the range (an index scan that stops at `limit`)."""
    rows = RequestLog.objects.filter(FINISHED, started_at__lt=end)
    if start is not None:
        rows = rows.filter(started_at__gte=start)
    if service:
        rows = rows.filter(service=service)
    return rows.order_by("-started_at")


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def stats(range_name: str = "all", now: datetime | None = None, key: str | None = None) -> dict:
    """Statistics of a range; `key` narrows them to one gateway key's requests."""
    now = now or timezone.now()
    start = range_start(range_name, now)
    sums = range_sums(start, now, key=key)
    by_service: dict[str, int] = defaultdict(int)
    by_model: dict[str, list] = defaultdict(lambda: [0] * len(SUMS))
    for (service, model), values in sums.items():
        by_service[service] += values[0]
        by_model[model] = [a + b for a, b in zip(by_model[model], values, strict=True)]
    durations = list(
        sample(start, now).exclude(duration_ms=None).values_list("duration_ms", flat=True)[:5000]
    )
    totals = summarize(total(sums))
    totals["median_duration_ms"] = percentile(durations, 50)
    models = sorted(by_model.items(), key=lambda kv: -kv[1][0])[:20]
    return {
        "range": range_name,
        "total": totals,
        "by_service": dict(by_service),
        "by_model": [{"model": m, **summarize(v)} for m, v in models],
        "inflight": RequestLog.objects.filter(state=State.IN_PROGRESS).count(),
        "last_hour": summarize(total(range_sums(now - timedelta(hours=1), now, key=key))),
    }


def known_services() -> set[str]:
    """The client APIs this gateway serves and every service its statistics have seen."""
    seen = HourlyStat.objects.values_list("service", flat=True).distinct()
    return set(SERVICES) | set(seen)


def flat_counts(data: dict, key: str | None = None, now: datetime | None = None) -> dict:
    """The flat integers that scripts written for the routers this gateway replaces read,
    from what `stats()` answered: total_requests and <service>_requests (finished requests
    of the range, a count for every service), recent_requests (the last 24 hours) and
    inflight_requests."""
    now = now or timezone.now()
    by_service = data["by_service"]
    if data["range"] == "24h":
        recent = data["total"]["requests"]
    else:
        recent = total(range_sums(now - timedelta(days=1), now, key=key))[0]
    return {
        "total_requests": data["total"]["requests"],
        **{f"{s}_requests": by_service.get(s, 0) for s in sorted(known_services() | {*by_service})},
        "recent_requests": recent,
        "inflight_requests": data["inflight"],
    }


def performance(
    range_name: str = "24h", service: str = "", points: int = 3000, now: datetime | None = None
) -> dict:
    """Points for the scatter plots and a line per model."""
    now = now or timezone.now()
    start = range_start(range_name, now)
    rows = list(
        sample(start, now, service).values(
            "id",
            "model_in",
            "state",
            "completion_tokens",
            "prompt_tokens",
            "duration_ms",
            "ttft_ms",
            "started_at",
        )[:SAMPLE]
    )
    by_model: dict[str, list] = defaultdict(list)
    for row in rows:
        by_model[row["model_in"]].append(row)
    sums: dict[str, list] = defaultdict(lambda: [0] * len(SUMS))
    for (_, model), values in range_sums(start, now, service).items():
        sums[model] = [a + b for a, b in zip(sums[model], values, strict=True)]
    models = []
    for model, values in sorted(sums.items(), key=lambda kv: -kv[1][0]):
        seen = by_model.get(model, [])
        ok = [r for r in seen if r["state"] == State.OK]
        durations = [r["duration_ms"] for r in ok if r["duration_ms"] is not None]
        ttfts = [r["ttft_ms"] for r in ok if r["ttft_ms"] is not None]
        summary = summarize(values)
        models.append(
            {
                "model": model,
                "count": summary["requests"],
                "error_rate": summary["error_rate"],
                "p50_ms": percentile(durations, 50),
                "p95_ms": percentile(durations, 95),
                "p50_ttft_ms": percentile(ttfts, 50),
                "tokens_per_second": summary["tokens_per_second"],
            }
        )
    plotted = [
        {
            "id": str(r["id"]),
            "model": r["model_in"],
            "state": r["state"],
            "completion_tokens": r["completion_tokens"],
            "prompt_tokens": r["prompt_tokens"],
            "duration_ms": r["duration_ms"],
            "ttft_ms": r["ttft_ms"],
        }
        for r in rows[:points]
        if r["duration_ms"] is not None
    ]
    return {"range": range_name, "service": service, "points": plotted, "models": models}
