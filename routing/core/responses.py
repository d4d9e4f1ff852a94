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
    """A streaming response that keeps its source, so a disconnect can close it at once."""

    def __init__(self, source: AsyncIterator[bytes], **kwargs: object) -> None:
        super().__init__(source, **kwargs)
        self.source = source
