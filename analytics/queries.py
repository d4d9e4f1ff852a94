"""Read-only queries over the request log (list queries never read bodies)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Q
from django.utils import timezone
from ninja import Schema
from pydantic import field_validator

from recording.models import RequestLog, State

LOG_FIELDS = (
    "id",
    "started_at",
    "finished_at",
    "state",
    "status",
    "service",
    "kind",
    "endpoint",
    "client",
    "node",
    "workflow",
    "upstream",
    "route",
    "model_in",
    "model_out",
    "stream",
    "duration_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "tokens_estimated",
    "bytes_in",
    "bytes_out",
    "error",
    "cache_hit",
    "gateway_key",
    "details",
)


class LogFilter(Schema):
    """Filters of the log list (also the query parameters of /api/logs)."""

    model: str = ""
    service: str = ""
    service_type: str = ""  # the same, by the name the routers this gateway replaces use
    kind: str = ""  # chat, text, embeddings, passthrough, ...
    status: int | None = None
    state: str = ""
    workflow: str = ""
    upstream: str = ""
    client: str = ""
    gateway_key: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def storable(cls, value: datetime | None) -> datetime | None:
        """A time the database can compare: in UTC, and not past the calendar's ends."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            raise ValueError("date out of range") from None

    def apply(self, rows):
        if self.model:
            rows = rows.filter(Q(model_in=self.model) | Q(model_out=self.model))
        if self.service or self.service_type:
            rows = rows.filter(service=self.service or self.service_type)
        if self.kind:
            rows = rows.filter(kind=self.kind)
        if self.status is not None:
            rows = rows.filter(status=self.status)
        if self.state:
            rows = rows.filter(state=self.state)
        if self.workflow:
            rows = rows.filter(workflow=self.workflow)
        if self.upstream:
            rows = rows.filter(upstream=self.upstream)
        if self.client:
            rows = rows.filter(client=self.client)
        if self.gateway_key:
            rows = rows.filter(gateway_key=self.gateway_key)
        if self.since:
            rows = rows.filter(started_at__gte=self.since)
        if self.until:
            rows = rows.filter(started_at__lt=self.until)
        return rows


def log_page(filters: LogFilter, limit: int, before: str | None) -> tuple[list[dict], str | None]:
    """Newest first; `before` is the id of the last row of the previous page."""
    rows = filters.apply(RequestLog.objects.all())
    if before:
        anchor = RequestLog.objects.filter(pk=before).values_list("started_at", flat=True).first()
        if anchor is not None:
            rows = rows.filter(Q(started_at__lt=anchor) | Q(started_at=anchor, pk__lt=before))
    page = list(rows.order_by("-started_at", "-id").values(*LOG_FIELDS)[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (str(page[-1]["id"]) if more else None)


def inflight(now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    rows = RequestLog.objects.filter(state=State.IN_PROGRESS).order_by("started_at")
    out = list(rows.values(*LOG_FIELDS)[:500])
    for row in out:
        row["elapsed_ms"] = round((now - row["started_at"]).total_seconds() * 1000)
    return out
