"""uvicorn's HTTP protocol (httptools) with the limits a server facing strangers needs.

uvicorn bounds neither the size of a request's headers nor the time to send them, and a
connection that never sends a byte stays open for good. Here:

- the request line and headers may take MAX_HEADER_BYTES (counted as they arrive, so a
  flood is cut after about one read past the limit): then a 431 and the connection closes;
- they must be complete HEADER_TIMEOUT seconds after the connection opened or the request
  began: then a 408 (nothing, for a connection that sent nothing) and it closes;
- past MAX_CONNECTIONS open connections a request is marked on its scope, and the
  application answers it a 503 in its API's shape (llmproxy.limits).

An idle kept-alive connection is closed by uvicorn itself (timeout_keep_alive); a body that
stops coming is the application's to time out (llmproxy.limits.paced), whatever the server.
"""

from __future__ import annotations

import asyncio

import orjson
from django.conf import settings
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from llmproxy.crossorigin import Refusal
from llmproxy.limits import OVER_CAPACITY, headers_too_large


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.url = b""
        self.awaiting_headers = True  # the next bytes belong to a request line or headers
        self.header_bytes = 0
        self.header_timer: asyncio.TimerHandle | None = None

    # --- the connection ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self.arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.awaiting_headers and not self.transport.is_closing():
            # Counted per read: a read that also ends the previous request's body counts
            # whole, which only matters to pipelined requests with large bodies.
            self.header_bytes += len(data)
            if self.header_bytes > settings.MAX_HEADER_BYTES:
                self.refuse(headers_too_large())

    # --- the parser's events --------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.awaiting_headers = True
        self.arm_header_timer()

    def on_headers_complete(self) -> None:
        self.awaiting_headers = False
        self.header_bytes = 0
        self.disarm_header_timer()
        if len(self.connections) > settings.MAX_CONNECTIONS:
            self.scope[OVER_CAPACITY] = True  # type: ignore[typeddict-unknown-key]
        super().on_headers_complete()

    # --- the header deadline ---------------------------------------------------------
    def arm_header_timer(self) -> None:
        if self.header_timer is None:
            self.header_timer = self.loop.call_later(
                settings.HEADER_TIMEOUT, self.header_time_is_up
            )

    def disarm_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def header_time_is_up(self) -> None:
        self.header_timer = None
        if self.transport.is_closing() or not self.awaiting_headers:
            return
        if self.header_bytes or self.url:
            self.refuse(
                Refusal(
                    408,
                    f"The request line and headers did not come within "
                    f"{settings.HEADER_TIMEOUT:g} seconds.",
                    "request_timeout",
                )
            )
        else:  # nothing was asked: nobody to answer
            self.transport.close()

    # --- refusing before there is a request ---------------------------------------------
    def refuse(self, refusal: Refusal) -> None:
        """Answer in the error shape of the path asked for (as far as it came), and close."""
        from llmproxy.error_shapes import error_body

        path = self.url.split(b"?", 1)[0].decode("latin-1")
        body = orjson.dumps(error_body(path, refusal.message, refusal.code, refusal.kind))
        head = [
            STATUS_LINE[refusal.status],
            *(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers),
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
        self.disarm_header_timer()
