"""Pure incremental decoders for server-sent events and newline-delimited JSON.

`feed(bytes)` returns what became complete; `flush()` returns what is left at
the end of the stream. Events split across reads, several events in one read
and CR, LF or CRLF line endings all decode the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SSEEvent:
    data: str
    event: str = ""
    id: str = ""

    def encode(self) -> bytes:
        head = ""
        if self.event:
            head += f"event: {self.event}\n"
        if self.id:
            head += f"id: {self.id}\n"
        lines = self.data.split("\n")
        return (head + "".join(f"data: {line}\n" for line in lines) + "\n").encode()


class SSEDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""
        self._id = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buffer + chunk
        if b"\r" in buf:
            # A CR at the very end may be the first half of a CRLF: keep it for later.
            tail = b"\r" if buf.endswith(b"\r") else b""
            buf = buf[: len(buf) - len(tail)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            buf += tail
        lines = buf.split(b"\n")
        self._buffer = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            self._take_line(line.decode("utf-8", errors="replace"), events)
        return events

    def flush(self) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        rest, self._buffer = self._buffer.rstrip(b"\r"), b""
        if rest:
            self._take_line(rest.decode("utf-8", errors="replace"), events)
        self._take_line("", events)
        return events

    def _take_line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event, self._id))
            self._data, self._event = [], ""
            return
        if line[0] == ":":
            return
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value


class NDJSONDecoder:
    """Splits a byte stream into non-empty lines (one JSON document each)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        return [line.strip() for line in lines if line.strip()]

    def flush(self) -> list[bytes]:
        rest, self._buffer = self._buffer.strip(), b""
        return [rest] if rest else []
