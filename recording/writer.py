"""The recording writer: request rows reach the database in batches, after the responses.

The request path only appends to a bounded queue (no I/O, no await). Every
RECORD_FLUSH_SECONDS a background task turns what arrived into row values, in
small slices between requests, and hands the SQL to one database thread, where
the drivers run without holding the GIL. (Building rows on a second thread
instead made it fight the event loop for the GIL: it fell seconds behind.)

A request that finished before its start was written becomes one complete row;
a long one is inserted in progress, then updated. If the database is locked or
down, rows wait and are retried; when the queue is full, new events are counted
as dropped and reported, never lost silently.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from recording import bulk
from recording.journal import Journal
from recording.models import RequestBody, RequestLog
from recording.recorder import (
    body_row,
    conversation_row,
    counting_model,
    finish_fields,
    journal_row,
    log_row,
    start_fields,
)
from recording.rollup import StatDeltas
from recording.sessions import SessionWrites
from routing.core.exchange import Exchange
from routing.streams import tokens

log = logging.getLogger(__name__)
MAX_BACKOFF = 5.0
SLICE = 5  # rows built between two chances for requests to run (~0.5 ms)


@dataclass
class _Pending:
    exchange: Exchange
    inserted: bool = False
    finished: bool = False


@dataclass
class _Rows:
    new: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    bodies: list = field(default_factory=list)
    conversations: list = field(default_factory=list)
    items: list = field(default_factory=list)
    stats: StatDeltas = field(default_factory=StatDeltas)
    events: list = field(default_factory=list)  # (kind, row) for the live dashboard

    def add(self, other: _Rows) -> None:
        """Take another part's rows, turned into query parameters (the Python work)."""
        self.new += bulk.values(RequestLog, other.new)
        self.updates += other.updates
        self.bodies += bulk.values(RequestBody, other.bodies)
        self.conversations += other.conversations  # merged into sessions when stored
        self.items += other.items
        self.stats.merge(other.stats)
        self.events += other.events

    def statements(self) -> list[bulk.Statement | SessionWrites]:
        """Few statements for the whole batch, from rows already made parameters by add()."""
        return [
            *bulk.insert(RequestLog, self.new),
            *bulk.update(RequestLog, self.updates),
            *bulk.insert(RequestBody, self.bodies),
            SessionWrites(self.conversations),
            *self.stats.statements(),
        ]

    @classmethod
    def of(cls, part: _Rows) -> _Rows:
        rows = cls()
        rows.add(part)
        return rows


@dataclass
class WriterStats:
    written: int = 0
    dropped: int = 0
    failures: int = 0
    last_error: str = ""
    queued: int = 0


class Writer:
    def __init__(self) -> None:
        self._events: deque[tuple[str, Exchange]] = deque()
        self._pending: dict[object, _Pending] = {}
        self._lock = threading.Lock()  # one write cycle at a time (task, flush, shutdown)
        self._database = ThreadPoolExecutor(1, thread_name_prefix="record-db")
        self._backoff = 0.0
        self._listeners: list = []
        self.journal = Journal()
        self.stats = WriterStats()

    # --- on the request path: cheap, never blocks --------------------------------
    def request_started(self, exchange: Exchange) -> None:
        if settings.ENABLE_LOGGING:
            self.submit("start", exchange)

    def request_finished(self, exchange: Exchange) -> None:
        if settings.ENABLE_LOGGING:
            self.submit("finish", exchange)

    def submit(self, kind: str, exchange: Exchange) -> None:
        if len(self._events) + len(self._pending) >= settings.RECORD_QUEUE_SIZE:
            self.stats.dropped += 1
            if self.stats.dropped in (1, 10, 100) or self.stats.dropped % 1000 == 0:
                log.error("recording queue full: %d events dropped so far", self.stats.dropped)
            return
        self._events.append((kind, exchange))
        if kind == "finish" and settings.RECORD_JOURNAL:
            try:
                self.journal.append(journal_row(exchange))
            except (OSError, TypeError, ValueError) as exc:  # never fail the request for it
                log.warning("journal write failed for %s: %s", exchange.id, exc)

    # --- the background task of each serving process -----------------------------
    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._backoff or settings.RECORD_FLUSH_SECONDS)
            if self._lock.acquire(blocking=False):
                try:
                    await self._cycle()
                finally:
                    self._lock.release()

    async def _cycle(self) -> None:
        self._take_events()
        rows = _Rows()
        await self._load_tokenizers(batch := self._unwritten())
        for start in range(0, len(batch), SLICE):
            part = _Rows()
            for item in batch[start : start + SLICE]:
                self._build(item, part)
            rows.add(part)
            await asyncio.sleep(0)
        if rows.items:
            loop = asyncio.get_running_loop()
            stored = await loop.run_in_executor(
                self._database, self._store_or_back_off, rows, rows.statements()
            )
            if stored and not self._events and not any(p.finished for p in self._pending.values()):
                self.journal.clear()  # nothing finished waits: the journal has served
            if stored and rows.events:
                await self._notify(rows.events)

    async def _load_tokenizers(self, batch: list[_Pending]) -> None:
        """Rows without the upstream's usage are counted; the encoding that takes is built
        once, slowly (a second or so), so in a thread rather than on the event loop."""
        models = {counting_model(p.exchange) for p in batch if p.finished}
        for model in models - {None}:
            if not tokens.is_loaded(model):
                try:
                    await asyncio.to_thread(tokens.load, model)
                except Exception:  # counting will fail and say so; the row is still written
                    log.warning("could not load the tokenizer for %s", model, exc_info=True)

    async def _notify(self, events: list) -> None:
        for listener in self._listeners:
            try:
                await listener(events)
            except Exception:  # a listener's trouble must never stop the recording
                log.warning("recording listener %s failed", listener, exc_info=True)

    def on_written(self, listener) -> None:
        """Call `await listener([(kind, row), ...])` after each written batch (live views)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    # --- shared by the task and by flush() ----------------------------------------
    def _take_events(self) -> None:
        while self._events:
            kind, exchange = self._events.popleft()
            pending = self._pending.setdefault(exchange.id, _Pending(exchange))
            pending.finished = pending.finished or kind == "finish"
        self.stats.queued = len(self._pending)

    def _unwritten(self) -> list[_Pending]:
        return [p for p in list(self._pending.values()) if p.finished or not p.inserted]

    def _build(self, item: _Pending, rows: _Rows) -> None:
        exchange = item.exchange
        try:
            if not item.inserted:
                row, fields = log_row(exchange, item.finished)
                new, update = [row], []
            else:
                fields = finish_fields(exchange)
                row = {**start_fields(exchange), **fields}
                new, update = [], [(exchange.id, fields)]
            bodies = [body_row(exchange)] if item.finished else []
            conversation = conversation_row(exchange, fields) if item.finished else None
        except Exception as exc:  # a bug in one row's data: report it, record the rest
            self._drop(item, exc)
            return
        rows.new += new
        rows.updates += update
        rows.bodies += bodies
        rows.conversations += [conversation] if conversation is not None else []
        rows.items.append(item)
        if item.finished:
            rows.stats.add(row)
        rows.events.append(("finished" if item.finished else "started", row))

    def _store_or_back_off(self, rows: _Rows, statements: list) -> bool:
        """On the database thread: write, or keep the rows for a later try."""
        try:
            self._store(rows, statements)
            self._backoff = 0.0
            return True
        except (OperationalError, InterfaceError) as exc:  # locked, or unreachable
            self.stats.failures += 1
            self.stats.last_error = str(exc)[:300]
            if self.stats.failures == 1 or self._backoff >= MAX_BACKOFF:
                log.warning("recording delayed, database unavailable: %s", exc)
            connection.close()
            self._backoff = min(
                max(self._backoff * 2, settings.RECORD_FLUSH_SECONDS * 2), MAX_BACKOFF
            )
            return False
        except DatabaseError:  # one bad row must not block the others: one by one
            for item in rows.items:
                part = _Rows()
                self._build(item, part)
                single = _Rows.of(part)
                try:
                    self._store(single, single.statements())
                except DatabaseError as exc:
                    self._drop(item, exc)
            return True

    def _store(self, rows: _Rows, statements: list) -> None:
        with transaction.atomic():
            for statement in statements:
                statement.execute()
        for item in rows.items:
            if item.finished:
                self._pending.pop(item.exchange.id, None)
                self.stats.written += 1
            else:
                item.inserted = True

    def _drop(self, item: _Pending, exc: Exception) -> None:
        log.error("request %s could not be recorded: %s", item.exchange.id, exc)
        self._pending.pop(item.exchange.id, None)
        self.stats.dropped += 1

    # --- control --------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything submitted so far, from a thread without a loop (tests, shutdown);
        the listeners, which need the loop, are not told."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                self._take_events()
                part = _Rows()
                for item in self._unwritten():
                    self._build(item, part)
                rows = _Rows.of(part)
                if rows.items:
                    self._database.submit(self._store_or_back_off, rows, rows.statements()).result()
            if not self._events and not self._unwritten():
                self.journal.clear()
                return True
            time.sleep(min(self._backoff or 0.01, max(deadline - time.monotonic(), 0)))
        return False

    async def close(self, timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(self.flush, timeout)


writer = Writer()
