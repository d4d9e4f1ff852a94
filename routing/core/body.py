"""A request body that arrives while the view runs (pass-through uploads), instead of being
read whole before it: the ASGI handler feeds it, the view reads it as the upstream takes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from routing.core.errors import PayloadTooLargeError

# Views registered under this URL name get their body as a BodyStream (scope["llmproxy.body"]).
STREAMED_BODY = "passthrough"
QUEUED_CHUNKS = 4  # ASGI messages waiting for the view: the client is slowed, not buffered


class BodyStream:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUED_CHUNKS)
        self._ended = False

    async def put(self, chunk: bytes, more: bool) -> None:
        """From the handler: one ASGI message's bytes."""
        if chunk:
            await self._queue.put(chunk)
        if not more:
            await self._queue.put(None)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The bytes as they come; 413 past the limit. Read once."""
        while not self._ended:
            chunk = await self._queue.get()
            if chunk is None:
                self._ended = True
                return
            self.size += len(chunk)
            if self.size > self.limit:
                raise PayloadTooLargeError(
                    f"The request body is larger than the limit of {self.limit} bytes.",
                    headers={"Connection": "close"},
                )
            yield chunk

    @property
    def ended(self) -> bool:
        return self._ended
