"""ChatML export of captured conversations: DIR/<workflow>/conversations.jsonl, streamed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson

from recording.models import Conversation

SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHUNK = 2000


@dataclass
class ExportSummary:
    records: int = 0
    skipped: int = 0
    files: list[Path] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.records} records in {len(self.files)} files, {self.skipped} skipped"


@dataclass(frozen=True)
class ExportFilter:
    workflow: str = ""
    since: datetime | None = None
    until: datetime | None = None
    model: str = ""
    gateway_key: str = ""

    def queryset(self):
        rows = Conversation.objects.all()
        if self.workflow:
            rows = rows.filter(workflow=self.workflow)
        if self.since:
            rows = rows.filter(created_at__gte=self.since)
        if self.until:
            rows = rows.filter(created_at__lt=self.until)
        if self.model:
            rows = rows.filter(model=self.model) | rows.filter(model_in=self.model)
        if self.gateway_key:
            rows = rows.filter(gateway_key=self.gateway_key)
        return rows


def chatml_record(row: dict) -> dict:
    record = {
        "messages": row["messages"],
        "timestamp": row["created_at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "model": row["model"],
        "workflow_id": row["workflow"],
    }
    if row["tools"]:
        record["tools"] = row["tools"]
    return record


CHATML_FIELDS = ("workflow", "created_at", "model", "messages", "tools", "digest")


def iter_jsonl(conversations) -> Iterator[bytes]:
    """ChatML JSONL lines of a Conversation queryset, streamed from the database."""
    rows = conversations.order_by("workflow", "created_at", "id").values(*CHATML_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        yield orjson.dumps(chatml_record(row)) + b"\n"


def export_chatml(
    out_dir: Path,
    filters: ExportFilter,
    dedupe: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write one JSONL file per workflow; memory stays constant whatever the row count."""
    summary = ExportSummary()
    handles: dict[str, IO[bytes]] = {}
    seen: set[str] = set()
    rows = filters.queryset().order_by("workflow", "created_at", "id").values(*CHATML_FIELDS)
    try:
        for n, row in enumerate(rows.iterator(chunk_size=CHUNK), 1):
            if progress and n % 500 == 0:
                progress(n)
            if not SAFE_NAME.fullmatch(row["workflow"]) or (dedupe and row["digest"] in seen):
                summary.skipped += 1
                continue
            if dedupe:
                seen.add(row["digest"])
            handle = handles.get(row["workflow"])
            if handle is None:
                path = out_dir / row["workflow"] / "conversations.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = handles[row["workflow"]] = path.open("wb")
                summary.files.append(path)
            handle.write(orjson.dumps(chatml_record(row)) + b"\n")
            summary.records += 1
    finally:
        for handle in handles.values():
            handle.close()
    return summary
