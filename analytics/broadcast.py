"""The one broadcaster: written request rows go to the dashboards as live events."""

from __future__ import annotations

from channels.layers import get_channel_layer

from analytics.queries import LOG_FIELDS

GROUP = "dashboard"
# The log list's fields, less those the event sets itself or the live views do not show.
FIELDS = tuple(
    f for f in LOG_FIELDS if f not in ("id", "started_at", "finished_at", "bytes_in", "bytes_out")
)


def event(kind: str, row: dict) -> dict:
    """A JSON-safe summary of one row (never its bodies)."""
    data = {k: row.get(k) for k in FIELDS}
    data["id"] = str(row["id"])
    data["started_at"] = row["started_at"].isoformat()
    data["error"] = (data["error"] or "")[:300]
    return {"event": kind, "request": data}


async def publish_request_events(events: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None or not events:
        return
    await layer.group_send(
        GROUP, {"type": "request.events", "events": [event(kind, row) for kind, row in events]}
    )
