"""The pure parts of embeddings: request checks and Ollama translation, and replies read
by position, converted between floats and base64, and rewritten for Ollama."""

from __future__ import annotations

import base64
import json
from array import array

import pytest

from routing.apis.embeddings.reply import (
    ReplyError,
    base64_to_floats,
    floats_to_base64,
    in_pieces,
    ollama_embed_parts,
    ollama_legacy_parts,
    openai_parts,
    scan,
    summary,
)
from routing.apis.embeddings.request import (
    check_embeddings_body,
    embed_request,
    legacy_request,
)
from routing.core.errors import BadRequestError

VECTORS = [[0.5, -0.25, 1.5], [0.0, 2.0, -1.0]]


def packed(values: list[float]) -> str:
    return base64.b64encode(array("f", values).tobytes()).decode()


def reply(as_base64: bool = False, reverse: bool = False, **extra) -> bytes:
    data = [
        {"object": "embedding", "index": i, "embedding": packed(v) if as_base64 else v}
        for i, v in enumerate(VECTORS)
    ]
    body = {"object": "list", "data": data[::-1] if reverse else data, "model": "m", **extra}
    return json.dumps(body).encode()


def joined(parts) -> bytes:
    return b"".join(bytes(p) for p in parts)


@pytest.mark.parametrize(
    ("value", "count"), [("a", 1), (["a", "b"], 2), ([1, 2, 3], 1), ([[1], [2, 3]], 2)]
)
def test_inputs_are_counted_in_each_shape(value, count):
    assert check_embeddings_body({"input": value}) == count


def test_a_streamed_embeddings_request_is_refused():
    with pytest.raises(BadRequestError):
        check_embeddings_body({"input": "a", "stream": True})


def test_ollamas_requests_become_openai_bodies_asking_for_floats():
    assert embed_request(
        {"model": "m", "input": ["a"], "truncate": True, "keep_alive": "5m", "dimensions": 4}
    ) == {"model": "m", "input": ["a"], "encoding_format": "float", "dimensions": 4}
    assert legacy_request({"model": "m", "prompt": "p", "options": {}}) == {
        "model": "m",
        "input": "p",
        "encoding_format": "float",
    }
    with pytest.raises(BadRequestError):
        legacy_request({"model": "m", "prompt": ["not", "one"]})


def test_floats_and_base64_convert_both_ways_exactly():
    text = json.dumps(VECTORS[0]).encode()
    assert floats_to_base64(text) == b'"' + packed(VECTORS[0]).encode() + b'"'
    assert json.loads(base64_to_floats(floats_to_base64(text))) == VECTORS[0]


def test_a_reply_in_the_asked_format_is_not_copied_or_changed():
    raw = reply()
    found = scan(raw)
    parts = list(openai_parts(found, "float"))
    assert len(parts) == 1 and isinstance(parts[0], memoryview) and bytes(parts[0]) == raw
    assert (found.dimensions(), found.model, len(found.vectors)) == (3, "m", 2)


def test_floats_become_base64_and_the_rest_stays():
    out = json.loads(joined(openai_parts(scan(reply(usage={"prompt_tokens": 2})), "base64")))
    assert [d["embedding"] for d in out["data"]] == [packed(v) for v in VECTORS]
    assert out["usage"] == {"prompt_tokens": 2} and out["model"] == "m"


def test_base64_becomes_floats():
    found = scan(reply(as_base64=True))
    assert found.dimensions() == 3
    out = json.loads(joined(openai_parts(found, "float")))
    assert [d["embedding"] for d in out["data"]] == VECTORS


def test_unusual_formatting_is_read_whole_once_and_still_works():
    raw = reply(as_base64=True).replace(b"/", b"\\/")  # escaped slashes in base64
    out = json.loads(joined(openai_parts(scan(raw), "float")))
    assert [d["embedding"] for d in out["data"]] == VECTORS


@pytest.mark.parametrize(
    "raw", [b"not json", b'{"data": "nope"}', b'{"data": [{"embedding": [[1], [2]]}]}', b"[]"]
)
def test_answers_that_are_not_embeddings_lists_are_refused(raw):
    with pytest.raises(ReplyError):
        scan(raw)


def test_ollama_replies_follow_the_inputs_order_as_floats():
    found = scan(reply(as_base64=True, reverse=True))
    timings = {"total_duration": 5, "load_duration": 0, "prompt_eval_count": 2}
    embed = json.loads(joined(ollama_embed_parts(found, "asked", timings)))
    assert embed == {"model": "asked", "embeddings": VECTORS, **timings}
    assert json.loads(joined(ollama_legacy_parts(found))) == {"embedding": VECTORS[0]}


def test_pieces_are_bounded_and_add_up():
    raw = reply()
    pieces = list(in_pieces(iter([memoryview(raw)]), size=10))
    assert b"".join(pieces) == raw and max(map(len, pieces)) == 10


def test_the_summary_has_no_vectors():
    text = json.dumps(summary(scan(reply()), "float", 2))
    assert "0.25" not in text and '"dimensions": 3' in text


def test_dimensions_past_any_models_are_refused_before_going_upstream():
    from routing.apis.embeddings.request import MAX_DIMENSIONS, check_embeddings_body
    from routing.core.errors import BadRequestError

    assert check_embeddings_body({"input": "x", "dimensions": MAX_DIMENSIONS}) == 1
    for bad in (0, MAX_DIMENSIONS + 1, 10**12, True, "8"):
        with pytest.raises(BadRequestError) as refused:
            check_embeddings_body({"input": "x", "dimensions": bad})
        assert refused.value.param == "dimensions"
