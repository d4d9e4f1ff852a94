"""The pure parts of the pass-through: content types, the model of a JSON body, and a
multipart form's model field found at any split of its bytes and rewritten in place."""

from __future__ import annotations

import pytest

from routing.apis.passthrough.request import (
    FieldFinder,
    form_boundary,
    is_json,
    is_multipart,
    json_model,
    with_form_value,
    with_json_model,
)

BOUNDARY = b"xyz123"


def form(*parts: tuple[str, bytes, str | None]) -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += b"--" + BOUNDARY + f"\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += value + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


def find_growing(data: bytes, cut: int):
    """Search as the bytes arrive in two pieces, cut at `cut`."""
    finder = FieldFinder(BOUNDARY, "model")
    found = finder.search(data[:cut])
    return found if found is not None else finder.search(data)


def test_content_types():
    assert is_json("application/json; charset=utf-8") and is_json("application/vnd.x+json")
    assert is_multipart('multipart/form-data; boundary="abc"')
    assert form_boundary('multipart/form-data; boundary="abc"') == b"abc"
    assert form_boundary("multipart/form-data; boundary=abc; x=1") == b"abc"


def test_a_json_body_keeps_its_bytes_unless_its_model_changes():
    raw = b'{"model": "a",  "x": 1}'
    body, model = json_model(raw)
    assert model == "a" and with_json_model(body, raw, "a") is raw
    assert with_json_model(body, raw, "b") == b'{"model":"b","x":1}'
    assert json_model(b"[1]") == (None, None) and json_model(b"{bad") == (None, None)


def test_the_model_field_is_found_at_every_split_point():
    data = form(("language", b"en", None), ("model", b"whisper-1", None), ("file", b"A" * 50, "a"))
    for cut in range(len(data) + 1):
        field = find_growing(data, cut)
        assert field is not None and field.value(data) == "whisper-1", cut


def test_a_file_named_model_is_not_the_model_and_a_form_without_one_says_so():
    data = form(("model", b"binary", "model.bin"), ("file", b"x", "a"))
    with pytest.raises(LookupError):
        FieldFinder(BOUNDARY, "model").search(data)


def test_a_model_after_the_file_is_found_once_the_file_has_passed():
    data = form(("file", b"B" * 1000, "a.wav"), ("model", b"late", None))
    finder = FieldFinder(BOUNDARY, "model")
    assert finder.search(data[:500]) is None
    assert finder.search(data).value(data) == "late"


def test_rewriting_the_value_changes_only_that_value():
    data = form(("model", b"whisper-1", None), ("file", b"C" * 10, "a"))
    field = FieldFinder(BOUNDARY, "model").search(data)
    rewritten = b"".join(bytes(p) for p in with_form_value(data, field, "large-v3"))
    assert rewritten == data.replace(b"whisper-1", b"large-v3")
