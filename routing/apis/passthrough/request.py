"""Pure helpers of the pass-through: what a body is, where its model is, how to rewrite it.

A JSON body names its model in `model`; a multipart form in a field named `model` (the
`openai` client sends its fields before the file). Only that value ever changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

NAME = re.compile(rb'(?:^|[;\s])name="([^"]*)"', re.IGNORECASE)
FILENAME = re.compile(rb"(?:^|[;\s])filename\*?=", re.IGNORECASE)
BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json(content_type: str) -> bool:
    media = media_type(content_type)
    return media == "application/json" or media.endswith("+json")


def is_multipart(content_type: str) -> bool:
    return media_type(content_type) == "multipart/form-data"


def form_boundary(content_type: str) -> bytes | None:
    found = BOUNDARY.search(content_type)
    return found.group(1).strip().encode("latin-1") if found else None


def json_model(raw: bytes) -> tuple[dict | None, str | None]:
    """The JSON object of a body and its `model` (a string), when it has them."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None  # the upstream judges bodies that are not JSON
    if not isinstance(body, dict):
        return None, None
    model = body.get("model")
    return body, model if isinstance(model, str) and model else None


def with_json_model(body: dict, raw: bytes, model: str) -> bytes:
    """The body as received when the model stays, else with only `model` changed."""
    if body.get("model") == model:
        return raw
    return orjson.dumps({**body, "model": model})


@dataclass(frozen=True, slots=True)
class Field:
    start: int  # the value's first byte in the form
    end: int  # just after its last byte

    def value(self, form: bytes | bytearray) -> str:
        return bytes(form[self.start : self.end]).decode("utf-8", "replace")


class FieldFinder:
    """Finds a plain (not file) field of a multipart form in its first bytes, as they grow.

    `search(form)` is called with everything received so far; it answers the Field, None
    while more bytes are needed, or raises LookupError once the form is known not to hold
    it. Each call goes on from where the previous one stopped.
    """

    def __init__(self, boundary: bytes, name: str) -> None:
        self.delimiter = b"--" + boundary
        self.name = name.encode()
        self.part: int | None = None  # the offset of the current part's delimiter
        self.resume = 0  # where to look for the next delimiter from

    def search(self, form: bytes | bytearray) -> Field | None:
        if self.part is None:
            self.part = form.find(self.delimiter)
            if self.part < 0:
                self.part = None
                return None
        while True:
            after = self.part + len(self.delimiter)
            if len(form) < after + 2:
                return None
            if form[after : after + 2] == b"--":
                raise LookupError(self.name)
            headers_end = form.find(b"\r\n\r\n", after)
            if headers_end < 0:
                return None
            start = headers_end + 4
            following = form.find(b"\r\n" + self.delimiter, max(start, self.resume))
            if following < 0:  # the part goes on: look again from near the end next time
                self.resume = max(start, len(form) - len(self.delimiter) - 2)
                return None
            headers = bytes(form[after:headers_end])
            named = NAME.search(headers)
            if named and named.group(1) == self.name and not FILENAME.search(headers):
                return Field(start, following)
            self.part, self.resume = following + 2, 0


def with_form_value(
    form: bytes | bytearray, field: Field, value: str
) -> tuple[memoryview, bytes, memoryview]:
    """The form's first bytes with one field's value replaced, as views of them (no copy)."""
    view = memoryview(form)
    return view[: field.start], value.encode(), view[field.end :]
