"""Stored Responses: served from memory until written, written in batches off the request path.

The request path only puts a finished response in a dict (before its last event leaves),
so a `previous_response_id` sent the moment a response completes is found here at once;
one database thread writes what waits every RECORD_FLUSH_SECONDS, and deletes go through
that same thread, so a delete never races the write it follows. With several processes
(REDIS_URL), a miss on an id of ours that is minutes old waits briefly for another
process's write before it is a 404.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError

from routing.core.redaction import redact_json
from routing.core.request_secrets import secrets_of
from routing.models import StoredResponse

log = logging.getLogger(__name__)
LIMIT = 10_000  # responses waiting to be written; past it a new one is not kept
OURS = re.compile(r"resp_([0-9a-f]{32})")
ANY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")  # ours, or an upstream's; nothing else is looked up
WAITS = (0.1, 0.2, 0.4, 0.8)  # seconds, on a miss that another process may be writing
RECENT = 3600.0  # only ids younger than this are waited for
FIELDS = ["owner", "gateway_key", "model", "status", "previous_response_id", "upstream"]


@dataclass(frozen=True)
class Stored:
    id: str
    owner: str
    response: dict | None  # None: the upstream named keeps it
    context: list[dict]  # the items before its output
    upstream: str = ""

    @property
    def history(self) -> list[dict]:
        """The conversation to continue from: what led to the response, then its output."""
        output = (self.response or {}).get("output") or []
        return [*self.context, *output]


def of_row(row: dict) -> Stored:
    return Stored(row["id"], row["owner"], row["response"], row["context"], row["upstream"])


def of_model(row: StoredResponse) -> Stored:
    return Stored(
        row.id, row.owner, row.unpack("response"), row.unpack("context") or [], row.upstream
    )


def recently_ours(response_id: str) -> bool:
    """An id this gateway made (resp_ + a UUIDv7) within the last RECENT seconds."""
    match = OURS.fullmatch(response_id)
    if match is None:
        return False
    made = uuid.UUID(hex=match.group(1)).int >> 80  # milliseconds since the epoch
    return 0 <= time.time() - made / 1000 < RECENT


class ResponseStore:
    def __init__(self) -> None:
        self._waiting: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._database = ThreadPoolExecutor(1, thread_name_prefix="responses-db")

    # --- on the request path: cheap, never blocks ------------------------------------
    def keep(self, row: dict) -> None:
        with self._lock:
            if len(self._waiting) < LIMIT:
                self._waiting[row["id"]] = row
            else:
                log.warning("stored responses: %d waiting, %s not kept", LIMIT, row["id"])

    def waiting(self, response_id: str) -> Stored | None:
        row = self._waiting.get(response_id)
        return of_row(row) if row is not None else None

    async def find(self, response_id: str, owner: str) -> Stored | None:
        """The stored response if `owner` made it (anyone else is told it does not exist)."""
        if not ANY_ID.fullmatch(response_id):
            return None
        found = await self._find(response_id)
        if found is None and settings.REDIS_URL and recently_ours(response_id):
            for pause in WAITS:
                await asyncio.sleep(pause)
                if (found := await self._find(response_id)) is not None:
                    break
        return found if found is not None and found.owner == owner else None

    async def _find(self, response_id: str) -> Stored | None:
        if (found := self.waiting(response_id)) is not None:
            return found
        row = await StoredResponse.objects.filter(id=response_id).afirst()
        return of_model(row) if row is not None else None

    async def delete(self, response_id: str, owner: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._database, self._delete, response_id, owner)

    # --- on the database thread -------------------------------------------------------
    def _delete(self, response_id: str, owner: str) -> bool:
        with self._lock:
            row = self._waiting.get(response_id)
            if row is not None and row["owner"] == owner:
                del self._waiting[response_id]
                return True
        deleted, _ = StoredResponse.objects.filter(id=response_id, owner=owner).delete()
        return deleted > 0

    def flush(self) -> None:
        """Write what waits; it stays servable from memory until written."""
        with self._lock:
            rows = list(self._waiting.values())
        if not rows:
            return
        try:
            StoredResponse.objects.bulk_create(
                [self._model(row) for row in rows],
                update_conflicts=True,
                unique_fields=["id"],
                update_fields=[*FIELDS, "response", "context"],
            )
        except DatabaseError as exc:
            log.warning("stored responses: %d not written: %s", len(rows), exc)
        with self._lock:
            for row in rows:
                if self._waiting.get(row["id"]) is row:
                    del self._waiting[row["id"]]

    def _model(self, row: dict) -> StoredResponse:
        response, context = row["response"], row["context"]
        if row.get("exchange") is not None:  # the request's secrets never reach the table
            secrets = secrets_of(row["exchange"])
            response, context = redact_json([response, context], secrets)
        return StoredResponse(
            id=row["id"],
            **{name: row[name] for name in FIELDS},
            request_id=row["request_id"],
            created_at=row["created_at"],
            response=StoredResponse.pack(response),
            context=StoredResponse.pack(context),
        )

    async def run(self) -> None:
        """The background task of each serving process."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.RECORD_FLUSH_SECONDS)
            if self._waiting:
                await loop.run_in_executor(self._database, self.flush)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._database, self.flush)


store = ResponseStore()
