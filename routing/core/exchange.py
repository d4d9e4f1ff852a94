"""The facts of one request as it goes through the gateway (what gets recorded)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from time import perf_counter, time, time_ns

from routing.rules.engine import Decision
from routing.streams.reply import Reply

IN_PROGRESS = "in_progress"
OK = "ok"
ERROR = "error"
CANCELLED = "cancelled"

# Kinds besides the chat and text of routing.streams.chunks.
EMBEDDINGS = "embeddings"
PASSTHROUGH = "passthrough"  # forwarded as it came, only the model rewritten


def new_request_id() -> uuid.UUID:
    """A time-ordered UUID (version 7): new rows land at the end of the index."""
    value = (time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


@dataclass
class Exchange:
    service: str  # the client API: "openai", "ollama", ...
    endpoint: str  # e.g. "/v1/chat/completions"
    kind: str  # what is asked upstream: "chat", "text", ...
    client: str
    model_in: str
    decision: Decision
    stream: bool
    body: dict  # what goes upstream
    client_body: dict = field(default_factory=dict)  # as the client asked, in OpenAI's shape
    workflow: str = "default"
    raw_request: bytes = b""  # as received, for the log (redacted when written)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    hide_usage: bool = False  # usage was asked for the log, not by the client
    id: uuid.UUID = field(default_factory=new_request_id)
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
    reply: Reply = field(default_factory=Reply)
    delivered: list[bytes] = field(default_factory=list)  # what the client got, for the log
    bytes_out: int = 0
    cache_hit: bool = False
    gateway_key: str = ""  # the name of the key the client used
    cache_key: str | None = None  # set when the response cache applies
    attempts: list[dict] = field(default_factory=list)  # every try: upstream, status, time
    lease: object | None = None  # the upstream place held while its response is open
    completion: dict | None = None  # a whole reply as delivered, for the cache
    key: object | None = None  # its KeySpec, for the model check
    secrets: list[str] | None = None  # worked out by the recorder, off the request path
    bytes_in: int | None = None  # a streamed upload's size (None: len(raw_request))
    details: dict = field(default_factory=dict)  # what only some kinds record (inputs, method…)
    upstream_path: str = ""  # a client API the upstream speaks natively; empty: by kind
    span: object | None = None  # its trace span, when tracing is on

    def deliver(self, data: bytes, keep: bool, limit: int) -> bytes:
        """Count bytes sent to the client; keep up to `limit` of them for the log."""
        self.bytes_out += len(data)
        if keep and self.bytes_out - len(data) < limit:
            self.delivered.append(data)
        return data

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
