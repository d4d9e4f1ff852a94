"""A pass-through request's body: read far enough to know its model, the rest streamed.

JSON bodies are read whole (MAX_REQUEST_BYTES). A multipart form is read up to its `model`
field, then on up to READ_AHEAD: a form that ends by then is in hand and can be sent to
another target if the first fails; a longer one (a large audio file) streams to one
upstream as it arrives, never held whole. Other bodies stream the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from django.http import HttpRequest

from routing.apis.passthrough.request import (
    Field,
    FieldFinder,
    form_boundary,
    is_json,
    is_multipart,
    json_model,
    with_form_value,
    with_json_model,
)
from routing.core.body import BodyStream

READ_AHEAD = 1024 * 1024
PIECE = 256 * 1024


@dataclass
class Outgoing:
    content_type: str
    head: bytes | bytearray  # what was read before routing
    rest: AsyncIterator[bytes] | None  # what the client still sends (None: nothing)
    stream: BodyStream | None
    length: int | None = None  # the client's Content-Length
    json: dict | None = None
    model: str | None = None
    field: Field | None = None  # a form's model field
    started: bool = False  # `rest` has begun to go upstream

    @property
    def whole(self) -> bool:
        """The whole body is in hand: another try can send it again."""
        return self.rest is None

    @property
    def size(self) -> int:
        return self.stream.size if self.stream is not None else len(self.head)

    def content(self, model: str | None) -> tuple[bytes | AsyncIterator[bytes] | None, int | None]:
        """The body for one try, with `model` in place of the client's; its length if known."""
        if self.json is not None:
            raw = with_json_model(self.json, self.head, model) if model else self.head
            return raw, len(raw)
        if self.whole and not self.head:
            return None, None
        view = memoryview(self.head)
        parts = with_form_value(self.head, self.field, model) if self.field and model else (view,)
        grown = sum(len(p) for p in parts) - len(self.head)
        length = self.length + grown if self.length is not None else None
        if self.whole:
            length = len(self.head) + grown
        return self._pieces(parts), length

    async def _pieces(self, parts: tuple) -> AsyncIterator[bytes]:
        for part in parts:
            for offset in range(0, len(part), PIECE):
                yield bytes(part[offset : offset + PIECE])
        if self.rest is not None:
            if self.started:
                raise RuntimeError("a streamed body cannot be sent twice")
            self.started = True
            async for chunk in self.rest:
                yield chunk


def content_length(request: HttpRequest) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_outgoing(request: HttpRequest) -> Outgoing:
    """Read the body as far as routing needs (see the module's docstring)."""
    content_type = request.headers.get("content-type", "")
    stream: BodyStream | None = request.scope.get("llmproxy.body")
    length = content_length(request)
    if stream is None:  # read whole by the handler
        outgoing = Outgoing(content_type, request.body, None, None, length)
        if is_json(content_type):
            outgoing.json, outgoing.model = json_model(request.body)
        return outgoing
    chunks = stream.chunks()
    head = bytearray()
    if is_json(content_type):
        async for chunk in chunks:
            head += chunk
        outgoing = Outgoing(content_type, bytes(head), None, stream, length)
        outgoing.json, outgoing.model = json_model(outgoing.head)
        return outgoing
    boundary = form_boundary(content_type) if is_multipart(content_type) else None
    finder = FieldFinder(boundary, "model") if boundary else None
    field = None
    async for chunk in chunks:
        head += chunk
        if finder is not None:
            try:
                field = finder.search(head)
            except LookupError:
                finder = None  # the form names no model
            if field is not None:
                finder = None
        if finder is None and len(head) >= READ_AHEAD:
            break
    rest = None if stream.ended else chunks
    outgoing = Outgoing(content_type, head, rest, stream, length, field=field)
    outgoing.model = field.value(head) if field is not None else None
    return outgoing
