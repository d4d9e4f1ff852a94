"""Chat completions as Responses, whole and streamed (pure: no Django).

The streamed events are also fed to the openai SDK's own stream accumulator, which checks
their order and identities as strictly as the SDK does against OpenAI.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from routing.apis.responses.reply import Draft, whole_response
from routing.apis.responses.translate_stream import EventWriter, encode
from routing.apis.responses.translate_tools import translate_tools

EVENTS = TypeAdapter(ResponseStreamEvent)


def draft(summary: bool = False, tools: list | None = None) -> Draft:
    names = translate_tools(tools).names
    return Draft("resp_abc", 1700000000, "client-model", {"input": "x"}, names, summary)


def chunk(finish: str | None = None, **delta: object) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def run(writer: EventWriter, chunks: list[dict], usage: dict | None = None) -> list[dict]:
    events = []
    for piece in chunks:
        events += writer.feed(piece)
    return events + writer.finish(usage)


def sdk_final(events: list[dict]) -> Response:
    """What the openai SDK makes of the events (it raises on any inconsistency)."""
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in events:
        state.handle_event(EVENTS.validate_python(event))
    return state._completed_response or Response.model_validate(events[-1]["response"])


def test_a_whole_reply_is_a_message_with_output_text_and_usage():
    data = {
        "choices": [{"message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2},
    }
    response = Response.model_validate(whole_response(draft(), data, data["usage"]))
    assert response.output_text == "Hi!"
    assert response.status == "completed" and response.model == "client-model"
    assert response.usage.total_tokens == 5 and response.output[0].id == "msg_abc_0"


def test_reasoning_comes_first_then_the_answer_then_the_calls():
    message = {
        "role": "assistant",
        "reasoning_content": "plan",
        "content": "\n\nOK",
        "tool_calls": [
            {"id": "c9", "type": "function", "function": {"name": "ns__f", "arguments": "{}"}}
        ],
    }
    tools = [{"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]}]
    data = {"choices": [{"message": message, "finish_reason": "tool_calls"}]}
    response = Response.model_validate(whole_response(draft(True, tools), data, None))
    reasoning, _text, call = response.output
    assert reasoning.summary[0].text == "plan" and reasoning.content[0].text == "plan"
    assert response.output_text == "OK"
    assert (call.call_id, call.name, call.namespace) == ("c9", "f", "ns")


def test_a_reply_cut_by_the_token_limit_is_incomplete():
    data = {"choices": [{"message": {"content": "trunc"}, "finish_reason": "length"}]}
    response = whole_response(draft(), data, None)
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}


def test_a_streamed_text_reply_follows_the_event_order():
    writer = EventWriter(draft())
    chunks = [chunk(role="assistant", content=""), chunk(content="Hel"), chunk(content="lo")]
    events = run(writer, [*chunks, chunk("stop")], {"prompt_tokens": 1, "completion_tokens": 2})
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = sdk_final(events)
    assert final.output_text == "Hello" and final.usage.output_tokens == 2


def test_streamed_reasoning_with_summaries_then_text():
    writer = EventWriter(draft(summary=True))
    events = run(
        writer,
        [
            chunk(reasoning_content="thin"),
            chunk(reasoning="king"),
            chunk(content="\nAnswer"),
            chunk("stop"),
        ],
    )
    kinds = [e["type"] for e in events]
    assert kinds.index("response.reasoning_summary_text.delta") < kinds.index(
        "response.output_text.delta"
    )
    assert "response.reasoning_text.done" in kinds
    final = sdk_final(events)
    assert final.output[0].summary[0].text == "thinking"
    assert final.output_text == "Answer"


def test_streamed_calls_carry_their_arguments_in_pieces():
    tools = [{"type": "function", "name": "run"}]
    writer = EventWriter(draft(tools=tools))
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "run", "arguments": ""},
    }
    events = run(
        writer,
        [
            chunk(content="\n\n"),
            chunk(tool_calls=[call]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"cmd":'}}]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '"ls"}'}}]),
            chunk("tool_calls"),
        ],
    )
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert deltas == ['{"cmd":', '"ls"}']
    final = sdk_final(events)
    (item,) = final.output  # the blank text before the call makes no message
    assert (item.type, item.call_id, item.arguments) == ("function_call", "call_1", '{"cmd":"ls"}')


def test_an_empty_reply_still_has_a_message():
    final = sdk_final(run(EventWriter(draft()), [chunk("stop")]))
    assert final.output_text == "" and final.output[0].type == "message"


def test_a_stream_cut_by_the_token_limit_ends_incomplete():
    events = run(EventWriter(draft()), [chunk(content="abc"), chunk("length")])
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_a_broken_stream_ends_with_response_failed_and_what_was_said():
    writer = EventWriter(draft())
    events = writer.feed(chunk(content="partial")) + writer.fail("upstream went away")
    last = events[-1]
    assert last["type"] == "response.failed"
    assert last["response"]["error"]["message"] == "upstream went away"
    assert last["response"]["output"][0]["content"][0]["text"] == "partial"


@pytest.mark.parametrize("events", [[{"type": "response.created", "sequence_number": 0}]])
def test_events_are_named_server_sent_events(events):
    assert encode(events) == b"event: response.created\ndata: " + orjson.dumps(events[0]) + b"\n\n"


PIECE = st.one_of(
    st.builds(lambda t: {"content": t}, st.text(min_size=1, max_size=4)),
    st.builds(lambda t: {"reasoning_content": t}, st.text(min_size=1, max_size=4)),
    st.builds(
        lambda i, a: {
            "tool_calls": [
                {"index": i, "id": f"c{i}", "function": {"name": f"f{i}", "arguments": a}}
            ]
        },
        st.integers(0, 1),
        st.text(max_size=4),
    ),
)


def expected_text(pieces: list[dict]) -> str:
    """The answer as the writer gives it: each message drops the newlines it starts with
    (what models write after </think>); reasoning and new calls end a message."""
    text, current, calls = "", None, set()
    for piece in pieces:
        if "reasoning_content" in piece:
            current = "reasoning"
        elif "content" in piece:
            said = piece["content"]
            if current != "message":
                said = said.lstrip("\r\n")
                if not said:
                    continue
                current = "message"
            text += said
        elif piece["tool_calls"][0]["index"] not in calls:
            calls.add(piece["tool_calls"][0]["index"])
            current = None
    return text


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECE, max_size=12), st.booleans(), st.sampled_from(["stop", "length", None]))
def test_any_stream_gives_events_the_sdk_accepts(pieces, summary, finish):
    writer = EventWriter(draft(summary=summary))
    events = run(writer, [*[chunk(**p) for p in pieces], chunk(finish)])
    final = sdk_final(events)
    said = "".join(p.get("content", "") for p in pieces)
    assert (
        final.output_text.replace("\r", "").replace("\n", "")
        == said.replace("\r", "").replace("\n", "")
        or final.output_text in said
    )
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "choices",
                    "delta",
                    "index",
                    "content",
                    "tool_calls",
                    "function",
                    "name",
                    "arguments",
                    "finish_reason",
                    "reasoning_content",
                    "id",
                    "usage",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["choices", "usage"]), JUNK), max_size=4))
def test_junk_from_an_upstream_never_breaks_the_writer(chunks):
    writer = EventWriter(draft())
    run(writer, chunks)
    assert writer.response["status"] in ("completed", "incomplete")
