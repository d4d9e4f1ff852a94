"""Hourly statistics: deltas from finished requests, added to HourlyStat with one UPSERT each."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection

from recording.bulk import Statement
from recording.models import HourlyStat, State

SUMS = (
    "requests",
    "errors",
    "cancelled",
    "prompt_tokens",
    "completion_tokens",
    "duration_ms_sum",
    "duration_count",
    "ttft_ms_sum",
    "ttft_count",
)

Key = tuple[datetime, str, str, str]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class StatDeltas:
    """What a batch of finished requests adds to each (hour, service, model)."""

    def __init__(self) -> None:
        self.sums: dict[Key, list[float]] = defaultdict(lambda: [0] * len(SUMS))

    def add(self, row: dict) -> None:
        key = (
            hour_of(row["started_at"]),
            row["service"],
            row.get("model_in") or "",
            row.get("gateway_key") or "",
        )
        sums = self.sums[key]
        state = row.get("state")
        sums[0] += 1
        sums[1] += state in (State.ERROR, State.INTERRUPTED)
        sums[2] += state == State.CANCELLED
        sums[3] += row.get("prompt_tokens") or 0
        sums[4] += row.get("completion_tokens") or 0
        if row.get("duration_ms") is not None:
            sums[5] += row["duration_ms"]
            sums[6] += 1
        if row.get("ttft_ms") is not None:
            sums[7] += row["ttft_ms"]
            sums[8] += 1

    def merge(self, other: StatDeltas) -> None:
        for key, values in other.sums.items():
            mine = self.sums[key]
            for i, value in enumerate(values):
                mine[i] += value

    def statements(self) -> list[Statement]:
        if not self.sums:
            return []
        quote = connection.ops.quote_name
        table = quote(HourlyStat._meta.db_table)
        keys = ["hour", "service", "model", "gateway_key"]
        columns = [*keys, *SUMS]
        sets = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in SUMS)
        sql = (
            f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) "
            f"DO UPDATE SET {sets}"
        )
        adapt = connection.ops.adapt_datetimefield_value
        params = [
            (adapt(hour), service, model[:200], key[:100], *values)
            for (hour, service, model, key), values in self.sums.items()
        ]
        return [Statement(sql, params)]
