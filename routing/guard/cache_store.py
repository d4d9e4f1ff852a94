"""The response cache's writes: new answers and hit counts reach its table in batches,
after the responses, from one database thread.

The request path only appends to bounded queues. A write that fails is logged and
dropped: a lost answer costs a later miss, never a wrong or a slower reply.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F

from routing.models import CachedResponse

log = logging.getLogger(__name__)
LIMIT = 10_000  # waiting answers; past it a new one is not kept
REFRESHED = ["body", "status", "content_type", "created_at", "expires_at"]


class CacheStore:
    def __init__(self) -> None:
        self._rows: deque[dict] = deque()
        self._hits: deque[str] = deque()
        self._lock = threading.Lock()
        self._database = ThreadPoolExecutor(1, thread_name_prefix="cache-db")

    # --- on the request path: cheap, never blocks ----------------------------------
    def keep(self, row: dict) -> None:
        if len(self._rows) < LIMIT:
            self._rows.append(row)

    def count_hit(self, key: str) -> None:
        if len(self._hits) < LIMIT:
            self._hits.append(key)

    # --- off the request path ---------------------------------------------------------
    def flush(self) -> None:
        """Write what waits (on the calling thread: the task's database thread, or a test)."""
        with self._lock:
            rows: dict[str, dict] = {}
            while self._rows:
                row = self._rows.popleft()
                rows[row["key"]] = row
            hits: dict[str, int] = {}
            while self._hits:
                key = self._hits.popleft()
                hits[key] = hits.get(key, 0) + 1
            if rows or hits:
                self._write(list(rows.values()), hits)

    def _write(self, rows: list[dict], hits: dict[str, int]) -> None:
        try:
            with transaction.atomic():
                CachedResponse.objects.bulk_create(
                    [CachedResponse(**row) for row in rows],
                    update_conflicts=True,
                    unique_fields=["key"],
                    update_fields=REFRESHED,
                )
                for key, count in hits.items():
                    CachedResponse.objects.filter(key=key).update(hits=F("hits") + count)
        except DatabaseError as exc:
            log.warning("response cache: %d answers not stored: %s", len(rows), exc)

    async def run(self) -> None:
        """The background task of each serving process."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.RECORD_FLUSH_SECONDS)
            if self._rows or self._hits:
                await loop.run_in_executor(self._database, self.flush)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._database, self.flush)


store = CacheStore()
