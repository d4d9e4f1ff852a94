"""Properties of the pure stream decoders and transforms: however the bytes are split into
reads (one byte at a time, at random points, all in one read), the result is the same."""

from __future__ import annotations

import itertools
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.rules.engine import Transforms
from routing.streams.chunks import ChunkTransformer, transform_completion
from routing.streams.sse import NDJSONDecoder, SSEDecoder, SSEEvent
from routing.streams.transforms import strip_json_fence, strip_think

LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
# Text of one data line: anything but line breaks (which end the line).
LINE = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))
FIELD = st.text(st.characters(whitelist_categories=["L", "N"]), max_size=8)
# `make test` tries 100 examples of each property, `make reliability` 3000.
EXAMPLES = [100, pytest.param(3000, marks=pytest.mark.soak)]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def events(draw) -> list[SSEEvent]:
    found = []
    for _ in range(draw(st.integers(0, 6))):
        data = "\n".join(draw(st.lists(LINE, min_size=1, max_size=3)))
        found.append(SSEEvent(data, draw(FIELD), draw(FIELD)))
    return found


def sse_bytes(items: list[SSEEvent], end: str, comments: bool) -> bytes:
    out = []
    for event in items:
        lines = [": keep-alive"] if comments else []
        lines += [f"event: {event.event}"] if event.event else []
        lines += [f"id: {event.id}"] if event.id else []
        lines += [f"data: {line}" for line in event.data.split("\n")]
        out.append(end.join(lines) + end + end)
    return "".join(out).encode()


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def decode_sse(reads: list[bytes]) -> list[tuple[str, str]]:
    decoder = SSEDecoder()
    found = [e for read in reads for e in decoder.feed(read)] + decoder.flush()
    return [(e.data, e.event) for e in found]


def decode_ndjson(reads: list[bytes]) -> list[bytes]:
    decoder = NDJSONDecoder()
    return [line for read in reads for line in decoder.feed(read)] + decoder.flush()


def every_way_to_read(stream: bytes, cuts: list[int]) -> list[list[bytes]]:
    """All in one read, one byte per read, cut in two at every point, cut at random points."""
    ways = [[stream[i : i + 1] for i in range(len(stream))], pieces(stream, cuts)]
    return ways + [[stream[:k], stream[k:]] for k in range(len(stream) + 1)]


@pytest.mark.parametrize("examples", EXAMPLES)
def test_sse_decodes_the_same_whatever_the_reads(examples):
    @settings(max_examples=examples, deadline=None, database=None)
    @given(events(), LINE_ENDS, st.booleans(), st.lists(st.integers(0, 10_000), max_size=12))
    def check(items, end, comments, cuts):
        stream = sse_bytes(items, end, comments)
        whole = decode_sse([stream])
        assert whole == [(e.data, e.event) for e in items]
        for reads in every_way_to_read(stream, cuts):
            assert decode_sse(reads) == whole

    check()


@pytest.mark.parametrize("examples", EXAMPLES)
def test_ndjson_decodes_the_same_whatever_the_reads(examples):
    @settings(max_examples=examples, deadline=None, database=None)
    @given(
        st.lists(JSON, max_size=6),
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
        st.lists(st.integers(0, 10_000), max_size=12),
    )
    def check(docs, end, blank_lines, cuts):
        gap = end if blank_lines else ""
        stream = b"".join(orjson.dumps(d) + (end + gap).encode() for d in docs)
        whole = decode_ndjson([stream])
        assert [orjson.loads(line) for line in whole] == docs
        for reads in every_way_to_read(stream, cuts):
            assert decode_ndjson(reads) == whole

    check()


def chunk(content: str | None, finish: str | None = None) -> dict:
    delta = {} if content is None else {"content": content}
    return {"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def streamed(text_pieces: list[str], transforms: Transforms) -> tuple[str, str]:
    transformer = ChunkTransformer(transforms)
    sent = [c for c in [*map(chunk, text_pieces), chunk(None, "stop")] if transformer.apply(c)]
    deltas = [c["choices"][0]["delta"] for c in sent + transformer.finish()]
    content = "".join(d.get("content") or "" for d in deltas)
    return content, "".join(d.get("reasoning_content") or "" for d in deltas)


def opens_a_fence_it_never_closes(text: str, think: str) -> bool:
    """Streams cannot hold a whole reply back: an opening ```json fence is dropped as soon
    as it is seen, so a reply that opens one and is not exactly one fenced block differs
    from the whole reply's (which is left as it is)."""
    answer = text if think == "keep" else strip_think(text)[0]
    return (
        bool(re.match(r"\s*```(?i:json)[ \t]*\r?\n", answer)) and strip_json_fence(answer) == answer
    )


REPLY = st.lists(
    st.sampled_from(["<think>", "</think>", "```json\n", "\n```", "{", "}", " ", "\n"]) | LINE,
    max_size=8,
).map("".join)


@pytest.mark.parametrize("examples", EXAMPLES)
def test_stream_transforms_give_the_whole_replys_text_whatever_the_chunks(examples):
    @settings(max_examples=examples, deadline=None, database=None)
    @given(
        REPLY,
        st.lists(st.integers(0, 10_000), max_size=8),
        st.sampled_from(["strip", "reasoning", "keep"]),
        st.booleans(),
    )
    def check(text, cuts, think, fence):
        transforms = Transforms(think=think, json_fence=fence)
        at = sorted({c % (len(text) + 1) for c in cuts})
        one_read = streamed([text], transforms)
        assert streamed(list(text), transforms) == one_read
        assert (
            streamed([text[a:b] for a, b in itertools.pairwise([0, *at, len(text)])], transforms)
            == one_read
        )
        for k in range(len(text) + 1):
            assert streamed([text[:k], text[k:]], transforms) == one_read
        if fence and opens_a_fence_it_never_closes(text, think):
            return  # by design a stream commits to a fence once it sees one open
        whole = {"choices": [{"index": 0, "message": {"content": text}}]}
        transform_completion(whole, transforms, "chat")
        expected = whole["choices"][0]["message"]
        assert one_read == (expected["content"], expected.get("reasoning_content", ""))

    check()
