"""Pure: taking out of a stream what the gateway's own request for usage added, and only that."""

from __future__ import annotations

from routing.streams.usage import AskedUsage, PassAll, usage_chunk

USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
TIMINGS = {"predicted_n": 5}


def chunk(text: str = "", finish: str | None = None, **extra) -> dict:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    return {"id": "c", "model": "m", "choices": [choice], **extra}


def run(passing, chunks: list[dict]) -> list[dict]:
    out = [sent for c in chunks for sent in passing.take(c)]
    return out + passing.flush()


def test_the_usage_only_chunk_goes_and_its_other_fields_move_to_the_final_chunk():
    sent = run(
        AskedUsage(),
        [
            chunk("Hi"),
            chunk(finish="stop"),
            {"id": "c", "choices": [], "usage": USAGE, "timings": TIMINGS},
        ],
    )
    assert sent == [chunk("Hi"), chunk(finish="stop", timings=TIMINGS)]


def test_the_final_chunk_is_held_only_until_the_next_event():
    passing = AskedUsage()
    assert passing.take(chunk("Hi")) == [chunk("Hi")]
    assert passing.take(chunk(finish="stop")) == []
    assert passing.take(chunk("more")) == [chunk(finish="stop"), chunk("more")]


def test_usage_null_added_to_every_chunk_is_taken_out():
    assert run(AskedUsage(), [chunk("Hi", usage=None)]) == [chunk("Hi")]


def test_usage_sent_on_a_chunk_with_choices_stays():
    final = chunk(finish="length", usage=USAGE, timings=TIMINGS)
    assert run(AskedUsage(), [chunk("abc"), final]) == [chunk("abc"), final]


def test_a_client_that_asked_gets_every_chunk_as_it_is():
    chunks = [chunk("Hi"), chunk(finish="stop"), {"id": "c", "choices": [], "usage": USAGE}]
    assert run(PassAll(), chunks) == chunks


def test_a_counted_usage_chunk_looks_like_an_upstreams():
    template = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "x": 1}
    assert usage_chunk(template, 3, 4) == {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
