"""The background writer: request rows reach the database in batches, off the event loop.

The request path only appends to a bounded queue (no I/O, no await). A thread
drains it every RECORD_FLUSH_SECONDS: a request that finished before its start
was written becomes one complete row; a long one is inserted in progress, then
updated. If the database is locked or down, rows wait and are retried; when the
queue is full, new events are counted as dropped and reported, never lost silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from recording.models import Conversation, RequestBody, RequestLog
from recording.recorder import body_row, conversation_row, finish_fields, log_row
from routing.exchange import Exchange

log = logging.getLogger(__name__)
MAX_BACKOFF = 5.0


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


@dataclass
class WriterStats:
    written: int = 0
    dropped: int = 0
    failures: int = 0
    last_error: str = ""
    queued: int = 0
    started: float = field(default_factory=time.monotonic)


class Writer:
    def __init__(self) -> None:
        self._events: deque[tuple[str, Exchange]] = deque()
        self._pending: dict[object, _Pending] = {}
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self.stats = WriterStats()

    # --- called on the event loop: cheap, never blocks -------------------------
    def submit(self, kind: str, exchange: Exchange) -> None:
        if len(self._events) + len(self._pending) >= settings.RECORD_QUEUE_SIZE:
            self.stats.dropped += 1
            if self.stats.dropped in (1, 10, 100) or self.stats.dropped % 1000 == 0:
                log.error("recording queue full: %d events dropped so far", self.stats.dropped)
            return
        self._events.append((kind, exchange))
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    # --- the writer thread -------------------------------------------------------
    def _run(self) -> None:
        backoff = settings.RECORD_FLUSH_SECONDS
        while True:
            self._wake.wait(backoff)
            self._wake.clear()
            self._take_events()
            if self._unwritten():
                backoff = self._write_or_back_off(backoff)
            with self._idle:
                if not self._unwritten() and not self._events:
                    self._idle.notify_all()
                    if self._stop:
                        break
        connection.close()

    def _take_events(self) -> None:
        while self._events:
            kind, exchange = self._events.popleft()
            pending = self._pending.setdefault(exchange.id, _Pending(exchange))
            pending.finished = pending.finished or kind == "finish"
        self.stats.queued = len(self._pending)

    def _unwritten(self) -> list[_Pending]:
        return [p for p in list(self._pending.values()) if p.finished or not p.inserted]

    def _write_or_back_off(self, backoff: float) -> float:
        try:
            self._write(self._unwritten())
        except (OperationalError, InterfaceError) as exc:  # locked, or unreachable: retry later
            self.stats.failures += 1
            self.stats.last_error = str(exc)[:300]
            if self.stats.failures == 1 or backoff >= MAX_BACKOFF:
                log.warning("recording delayed, database unavailable: %s", exc)
            connection.close()
            return min(backoff * 2, MAX_BACKOFF)
        except DatabaseError:  # one bad row must not block the others: write one by one
            for item in self._unwritten():
                try:
                    self._write([item])
                except DatabaseError as exc:
                    self._drop(item, exc)
        return settings.RECORD_FLUSH_SECONDS

    def _drop(self, item: _Pending, exc: Exception) -> None:
        log.error("request %s could not be recorded: %s", item.exchange.id, exc)
        self._pending.pop(item.exchange.id, None)
        self.stats.dropped += 1

    def _rows(self, item: _Pending, rows: _Rows) -> None:
        exchange = item.exchange
        if not item.inserted:
            row, fields = log_row(exchange, item.finished)
            rows.new.append(row)
        elif item.finished:
            fields = finish_fields(exchange)
            rows.updates.append((exchange.id, fields))
        if item.finished:
            rows.bodies.append(body_row(exchange))
            conversation = conversation_row(exchange, fields)
            if conversation is not None:
                rows.conversations.append(conversation)

    def _write(self, batch: list[_Pending]) -> None:
        rows = _Rows()
        for item in batch:
            try:
                self._rows(item, rows)
            except Exception as exc:  # a bug in one row's data: report it, write the rest
                self._drop(item, exc)
        with transaction.atomic():
            RequestLog.objects.bulk_create(rows.new)
            for pk, fields in rows.updates:
                RequestLog.objects.filter(pk=pk).update(**fields)
            RequestBody.objects.bulk_create(rows.bodies)
            Conversation.objects.bulk_create(rows.conversations)
        for item in batch:
            if item.exchange.id not in self._pending:
                continue
            if item.finished:
                del self._pending[item.exchange.id]
                self.stats.written += 1
            else:
                item.inserted = True

    # --- control -------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._events or self._unwritten():
                if self._thread is None or not self._thread.is_alive():
                    self._start()
                self._wake.set()
                woke = self._idle.wait(min(0.05, max(deadline - time.monotonic(), 0)))
                if not woke and time.monotonic() >= deadline:
                    return False
        return True

    def close(self, timeout: float = 10.0) -> bool:
        done = self.flush(timeout)
        self._stop = True
        self._wake.set()
        return done


writer = Writer()
