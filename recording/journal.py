"""The writer's journal: finished requests survive a SIGKILL before their rows are written.

When a request finishes, one line with its row is appended to a per-process file
(an unbuffered write: the kernel keeps it even if the process is killed the next
instant), before its last bytes reach the client. Once the writer has stored
everything, the file is emptied. At start, a gateway replays what its previous
run left, so every completed request keeps its row and its state.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from datetime import datetime
from pathlib import Path

import orjson
from django.conf import settings
from django.db import transaction

from recording import bulk
from recording.models import RequestLog, State
from recording.rollup import StatDeltas

log = logging.getLogger(__name__)
FINISHED_FIELDS = (
    "upstream",
    "model_out",
    "attempts",
    "finished_at",
    "state",
    "status",
    "duration_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "tokens_estimated",
    "bytes_out",
    "error",
    "cache_hit",
)
DATES = ("started_at", "finished_at")


def directory() -> Path:
    return Path(settings.DATA_DIR) / "journal"


def safe(node: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", node)


class Journal:
    def __init__(self) -> None:
        self._fd: int | None = None
        self._pid = 0
        self.lines = 0

    def append(self, row: dict) -> None:
        if self._fd is None or self._pid != os.getpid():
            directory().mkdir(parents=True, exist_ok=True)
            name = f"{safe(settings.NODE_NAME or 'node')}-{os.getpid()}.jsonl"
            self._fd = os.open(directory() / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._pid = os.getpid()
        os.write(self._fd, orjson.dumps(row, default=str) + b"\n")
        self.lines += 1

    def clear(self) -> None:
        """Everything in the file is in the database now."""
        if self._fd is not None and self.lines:
            os.ftruncate(self._fd, 0)
            self.lines = 0


def _row(line: bytes) -> dict | None:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # the last line of a killed process may be cut
    for name in DATES:
        if row.get(name):
            row[name] = datetime.fromisoformat(row[name])
    row["id"] = uuid.UUID(row["id"])
    return row


def replay(node: str) -> int:
    """Write the rows a killed run of `node` left in its journals; returns how many."""
    files = sorted(directory().glob(f"{safe(node)}-*.jsonl"))
    rows = [r for f in files for line in f.read_bytes().splitlines() if (r := _row(line))]
    if rows:
        settled = set(
            RequestLog.objects.filter(id__in=[r["id"] for r in rows])
            .exclude(state=State.IN_PROGRESS)
            .values_list("id", flat=True)
        )
        fresh = [r for r in rows if r["id"] not in settled]
        deltas = StatDeltas()
        for row in fresh:
            deltas.add(row)
        with transaction.atomic():
            for statement in [
                *bulk.upsert(RequestLog, fresh, ["id"], list(FINISHED_FIELDS)),
                *deltas.statements(),
            ]:
                statement.execute()
        log.info("recovered %d finished requests from the journal", len(fresh))
    for f in files:
        f.unlink()
    return len(rows)
