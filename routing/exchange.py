"""The facts of one request as it goes through the gateway (what gets recorded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter, time

from routing.engine import Decision

IN_PROGRESS = "in_progress"
OK = "ok"
ERROR = "error"
CANCELLED = "cancelled"


@dataclass
class Exchange:
    service: str  # "openai" or "ollama"
    endpoint: str  # e.g. "/v1/chat/completions"
    kind: str  # chat or text
    client: str
    model_in: str
    decision: Decision
    stream: bool
    body: dict  # what goes upstream
    started: float = field(default_factory=perf_counter)
    started_at: float = field(default_factory=time)
    sent_at: float = 0.0
    first_byte_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    state: str = IN_PROGRESS
    status: int | None = None
    error: str = ""
    usage: dict | None = None

    @property
    def upstream_wait(self) -> float:
        """Seconds spent waiting for the upstream before the first byte came back."""
        if self.first_byte_at is None or not self.sent_at:
            return 0.0
        return self.first_byte_at - self.sent_at

    @property
    def duration_ms(self) -> float | None:
        end = self.finished_at
        return None if end is None else (end - self.started) * 1000

    @property
    def ttft_ms(self) -> float | None:
        mark = self.first_token_at
        return None if mark is None else (mark - self.started) * 1000

    def finish(self, state: str, status: int | None = None, error: str = "") -> None:
        if self.finished_at is not None:
            return  # exactly once, whatever ends the exchange first
        self.finished_at = perf_counter()
        self.state = state
        self.status = status if status is not None else self.status
        self.error = error
