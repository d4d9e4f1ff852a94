"""Chat completions (whole and streamed) as Messages replies and events (pure)."""

from __future__ import annotations

import orjson
import pytest

from routing.apis.anthropic.reply import MessageStream, signature, whole_message
from routing.apis.anthropic.request import Asked
from routing.apis.anthropic.translate_native import EventReader, completion_of
from routing.core.errors import UpstreamUnreachableError
from routing.streams.chunks import ChunkTransformer, Transforms
from routing.streams.reply import Reply

THINKING = Asked("claude-x", True, thinking=True)
PLAIN = Asked("claude-x", True, thinking=None)


def completion(message: dict, finish: str = "stop", **choice) -> dict:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7},
    }


def test_a_whole_reply_orders_thinking_text_and_tool_calls():
    message = {
        "role": "assistant",
        "content": "Let me look.",
        "reasoning_content": "They want files.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "Bash", "arguments": '{"c": "ls"}'},
            },
            {"id": "call 2!", "type": "function", "function": {"name": "Read", "arguments": ""}},
        ],
    }
    data = completion(message, "tool_calls")
    reply = whole_message(data, THINKING, "msg_abc", data["usage"])
    assert reply["model"] == "claude-x" and reply["id"] == "msg_abc"
    assert reply["content"] == [
        {
            "type": "thinking",
            "thinking": "They want files.",
            "signature": signature("They want files."),
        },
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"c": "ls"}},
        {"type": "tool_use", "id": "toolu_abc_1", "name": "Read", "input": {}},
    ]
    assert reply["stop_reason"] == "tool_use" and reply["stop_sequence"] is None
    assert reply["usage"]["input_tokens"] == 12 and reply["usage"]["output_tokens"] == 7


def test_reasoning_is_not_shown_unless_thinking_was_asked():
    data = completion({"role": "assistant", "content": "Hi", "reasoning": "secret"})
    assert whole_message(data, PLAIN, "msg_1", None)["content"] == [{"type": "text", "text": "Hi"}]


def test_omitted_thinking_keeps_the_block_and_its_signature_without_the_text():
    asked = Asked("m", False, thinking=True, omit_thinking=True)
    data = completion({"role": "assistant", "content": "Hi", "reasoning_content": "secret"})
    block = whole_message(data, asked, "msg_1", None)["content"][0]
    assert block == {"type": "thinking", "thinking": "", "signature": signature("secret")}


@pytest.mark.parametrize(
    ("finish", "extra", "expected"),
    [
        ("stop", {}, ("end_turn", None)),
        ("length", {}, ("max_tokens", None)),
        ("stop", {"stop_reason": "END"}, ("stop_sequence", "END")),
        ("content_filter", {}, ("refusal", None)),
    ],
)
def test_stop_reasons(finish, extra, expected):
    asked = Asked("m", False, thinking=None, stop_sequences=["END"])
    reply = whole_message(
        completion({"role": "assistant", "content": "x"}, finish, **extra), asked, "msg_1", None
    )
    assert (reply["stop_reason"], reply["stop_sequence"]) == expected


def test_tool_arguments_that_are_not_json_are_an_error():
    call = {"id": "c", "type": "function", "function": {"name": "Bash", "arguments": "{ls"}}
    data = completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
    with pytest.raises(UpstreamUnreachableError, match="Bash"):
        whole_message(data, PLAIN, "msg_1", None)


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def events(raw: bytes) -> list[dict]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        name, data = block.split("\n")
        payload = orjson.loads(data.removeprefix("data: "))
        assert name == f"event: {payload['type']}"
        out.append(payload)
    return out


def run(stream: MessageStream, chunks: list[dict], usage: dict | None = None) -> list[dict]:
    raw = b"".join(stream.chunk(c) for c in chunks) + stream.end(usage)
    return events(raw)


def test_a_stream_opens_and_closes_each_block_with_its_index():
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Think "}),
        chunk({"reasoning_content": "hard."}),
        chunk({"content": "Calling."}),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_a", "function": {"name": "Bash", "arguments": '{"c"'}}
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ': "ls"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {"index": 1, "id": "call_b", "function": {"name": "Read", "arguments": "{}"}}
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    out = run(
        MessageStream(THINKING, "msg_1"), chunks, {"prompt_tokens": 5, "completion_tokens": 9}
    )
    kinds = [
        (e["type"], e.get("index"), (e.get("delta") or e.get("content_block") or {}).get("type"))
        for e in out
    ]
    assert kinds == [
        ("message_start", None, None),
        ("content_block_start", 0, "thinking"),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "signature_delta"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, "text"),
        ("content_block_delta", 1, "text_delta"),
        ("content_block_stop", 1, None),
        ("content_block_start", 2, "tool_use"),
        ("content_block_delta", 2, "input_json_delta"),
        ("content_block_delta", 2, "input_json_delta"),
        ("content_block_stop", 2, None),
        ("content_block_start", 3, "tool_use"),
        ("content_block_delta", 3, "input_json_delta"),
        ("content_block_stop", 3, None),
        ("message_delta", None, None),
        ("message_stop", None, None),
    ]
    assert out[4]["delta"]["signature"] == signature("Think hard.")
    assert out[9]["content_block"] == {
        "type": "tool_use",
        "id": "call_a",
        "name": "Bash",
        "input": {},
    }
    assert "".join(e["delta"]["partial_json"] for e in out[10:12]) == '{"c": "ls"}'
    assert out[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert (out[-2]["usage"]["input_tokens"], out[-2]["usage"]["output_tokens"]) == (5, 9)


def test_think_tags_split_anywhere_come_out_as_one_thinking_block():
    text = "<think>plan it</think>The answer."
    for cut in range(1, len(text)):
        transformer = ChunkTransformer(Transforms(think="reasoning"))
        stream = MessageStream(THINKING, "msg_1")
        raw = b""
        for piece in (text[:cut], text[cut:]):
            c = chunk({"content": piece})
            transformer.apply(c)
            raw += stream.chunk(c)
        last = chunk({}, "stop")
        transformer.apply(last)
        raw += stream.chunk(last) + stream.end(None)
        out = events(raw)
        thinking = "".join(
            e["delta"].get("thinking", "") for e in out if e["type"] == "content_block_delta"
        )
        answer = "".join(
            e["delta"].get("text", "") for e in out if e["type"] == "content_block_delta"
        )
        assert (thinking, answer) == ("plan it", "The answer."), cut
        starts = [e["content_block"]["type"] for e in out if e["type"] == "content_block_start"]
        assert starts == ["thinking", "text"], cut


def test_without_thinking_asked_no_reasoning_reaches_the_stream():
    out = run(
        MessageStream(PLAIN, "msg_1"),
        [chunk({"reasoning_content": "x"}), chunk({"content": "Hi"}, "stop")],
    )
    assert [e["content_block"]["type"] for e in out if e["type"] == "content_block_start"] == [
        "text"
    ]


def test_streamed_tool_arguments_that_are_not_json_are_an_error_at_the_finish():
    stream = MessageStream(PLAIN, "msg_1")
    stream.chunk(
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c", "function": {"name": "Bash", "arguments": "{oops"}}
                ]
            }
        )
    )
    with pytest.raises(UpstreamUnreachableError):
        stream.chunk(chunk({}, "tool_calls"))


def native_events() -> list[dict]:
    return [
        {
            "type": "message_start",
            "message": {"usage": {"input_tokens": 20, "cache_read_input_tokens": 5}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "Bash"},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a"'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ": 1}"},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 8},
        },
        {"type": "message_stop"},
    ]


def test_native_events_are_read_back_for_the_log():
    reader, reply = EventReader(), Reply()
    for payload in native_events():
        if (translated := reader.chunk(payload)) is not None:
            reply.feed_chunk(translated)
    assert reply.message() == {
        "role": "assistant",
        "content": "Hi",
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "Bash", "arguments": '{"a": 1}'}}
        ],
    }
    assert reply.finish_reason == "tool_calls"
    assert reader.counted() == {"prompt_tokens": 25, "completion_tokens": 8, "total_tokens": 33}


def test_a_native_whole_reply_is_read_back_as_a_completion():
    message = {
        "model": "claude-x",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": "s"},
            {"type": "text", "text": "Hi"},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    data = completion_of(message)
    assert data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"a":1}'
    assert data["choices"][0]["message"]["reasoning_content"] == "t"
    assert data["choices"][0]["finish_reason"] == "tool_calls"
    assert data["usage"]["prompt_tokens"] == 3
