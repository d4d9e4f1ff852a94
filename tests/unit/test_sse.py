"""Pure SSE and NDJSON decoding: any split of the bytes decodes the same."""

from __future__ import annotations

import itertools

import pytest

from routing.streams.sse import NDJSONDecoder, SSEDecoder, SSEEvent

STREAMS = [
    b'data: {"a": 1}\n\ndata: {"b": 2}\n\ndata: [DONE]\n\n',
    b'data: {"a": 1}\r\n\r\ndata: {"b": 2}\r\n\r\ndata: [DONE]\r\n\r\n',
    b'data: {"a": 1}\r\rdata: {"b": 2}\r\rdata: [DONE]\r\r',
    b': keep-alive\n\ndata:{"a": 1}\n\nevent: x\ndata: {"b": 2}\n\ndata: [DONE]\n\n',
]


def decode(stream: bytes, cuts: list[int]) -> list[str]:
    decoder = SSEDecoder()
    bounds = [0, *cuts, len(stream)]
    events = []
    for a, b in itertools.pairwise(bounds):
        events += decoder.feed(stream[a:b])
    events += decoder.flush()
    return [e.data for e in events]


@pytest.mark.parametrize("stream", STREAMS)
def test_it_decodes_the_same_at_every_split_point(stream):
    expected = ['{"a": 1}', '{"b": 2}', "[DONE]"]
    assert decode(stream, []) == expected
    for i in range(len(stream) + 1):
        assert decode(stream, [i]) == expected, i


def test_it_returns_an_event_as_soon_as_its_blank_line_arrives():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\n") == []
    assert [e.data for e in decoder.feed(b"\ndata: tw")] == ["one"]


def test_it_joins_multi_line_data_and_keeps_event_names():
    decoder = SSEDecoder()
    events = decoder.feed(b"event: delta\ndata: a\ndata: b\n\n")
    assert events == [SSEEvent("a\nb", "delta")]
    assert events[0].encode() == b"event: delta\ndata: a\ndata: b\n\n"


def test_it_flushes_a_last_event_without_blank_line():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == []
    assert [e.data for e in decoder.flush()] == ["tail"]


def test_ndjson_splits_lines_and_skips_blank_ones():
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\n\n{"b"') == [b'{"a":1}']
    assert decoder.feed(b":2}\n") == [b'{"b":2}']
    assert decoder.feed(b'{"c":3}') == []
    assert decoder.flush() == [b'{"c":3}']
