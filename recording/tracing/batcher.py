"""Ended spans go out in batches from one thread, through a bounded queue: a collector that is
down or slow costs requests nothing, and every span that does not fit is counted."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)


class Batcher(SpanProcessor):
    def __init__(
        self, exporter: SpanExporter, queue_size: int, batch_size: int, delay_seconds: float
    ) -> None:
        self.exporter = exporter
        self.queue_size, self.batch_size, self.delay = queue_size, batch_size, delay_seconds
        self._queue: deque[ReadableSpan] = deque()
        self._wake = threading.Event()
        self._exporting = threading.Lock()
        self._stopping = False
        self.exported = 0
        self.dropped = 0
        self.dropped_listeners: list[Callable[[int], None]] = []
        self._thread = threading.Thread(target=self._run, name="trace-export", daemon=True)
        self._thread.start()

    def on_end(self, span: ReadableSpan) -> None:
        if not span.context.trace_flags.sampled:
            return
        if len(self._queue) >= self.queue_size:
            self.count_dropped(1)
            return
        self._queue.append(span)
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def count_dropped(self, n: int) -> None:
        self.dropped += n
        for listener in self.dropped_listeners:
            listener(n)
        if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
            log.warning("traces: %d spans dropped so far (collector slow or away)", self.dropped)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.delay)
            self._wake.clear()
            self._export_waiting()

    def _export_waiting(self) -> None:
        with self._exporting:
            self._export_batches()

    def _export_batches(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            try:
                result = self.exporter.export(batch)
            except Exception as exc:  # the exporter's own trouble: these spans are lost
                log.warning("traces: export failed: %s", exc)
                result = None
            if result is not None and result.name == "SUCCESS":
                self.exported += len(batch)
            else:
                self.count_dropped(len(batch))

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        self._wake.set()
        while self._queue and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._exporting.acquire(timeout=max(deadline - time.monotonic(), 0)):
            self._exporting.release()  # the batch on its way has gone
            return not self._queue
        return False

    def shutdown(self) -> None:
        self.force_flush(5_000)
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)
        self.exporter.shutdown()
