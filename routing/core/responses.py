"""Response types of the proxy endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from django.http import HttpResponse, StreamingHttpResponse


def json_response(data: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(orjson.dumps(data), content_type="application/json", status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


class RelayResponse(StreamingHttpResponse):
    """A streaming response that keeps its source, so a disconnect can close it at once.

    `heartbeat` (seconds, bytes): the server sends those bytes each time the stream has
    been silent that long (an API's keep-alive event), between the source's own chunks.
    """

    def __init__(
        self,
        source: AsyncIterator[bytes],
        heartbeat: tuple[float, bytes] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(source, **kwargs)
        self.source = source
        self.heartbeat = heartbeat
