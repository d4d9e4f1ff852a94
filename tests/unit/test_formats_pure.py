"""Pure training-record builders: ChatML, ShareGPT, Alpaca, the reply picked, the split."""

from __future__ import annotations

from collections import Counter

import pytest

from recording.formats import (
    MULTI_TURN,
    TOOL_CALLS,
    TRAIN,
    VALIDATION,
    Candidate,
    alpaca_record,
    build_record,
    pick_reply,
    sharegpt_record,
    split_of,
)

SYSTEM = {"role": "system", "content": "Be brief."}
USER = {"role": "user", "content": "Weather in Paris?"}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
        }
    ],
}
RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"}
ANSWER = {"role": "assistant", "content": "18C and sunny."}
TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]


def test_chatml_keeps_messages_metadata_and_tools():
    meta = {"timestamp": "2026-05-01T12:00:00Z", "model": "m", "workflow_id": "w"}
    record, reason = build_record("chatml", [USER, ANSWER], TOOLS, meta)
    assert reason is None
    assert list(record) == ["messages", "timestamp", "model", "workflow_id", "tools"]
    assert record["messages"] == [USER, ANSWER]
    assert "tools" not in build_record("chatml", [USER, ANSWER], None, meta)[0]


def test_sharegpt_names_every_turn_and_turns_tool_calls_into_function_call_and_observation():
    record = sharegpt_record([SYSTEM, USER, CALL, RESULT, ANSWER], TOOLS)
    assert record == {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Weather in Paris?"},
            {
                "from": "function_call",
                "value": '{"name": "weather", "arguments": {"city": "Paris"}}',
            },
            {"from": "observation", "value": "18C, sunny"},
            {"from": "gpt", "value": "18C and sunny."},
        ],
        "tools": '[{"type": "function", "function": {"name": "weather", "parameters": {}}}]',
    }


def test_sharegpt_joins_parallel_calls_and_their_results():
    two = {**CALL, "tool_calls": CALL["tool_calls"] * 2}
    other = {**RESULT, "content": "rain"}
    turns = sharegpt_record([USER, two, RESULT, other, ANSWER], None)["conversations"]
    assert turns[1]["value"].startswith('[{"name": "weather"')
    assert turns[2] == {"from": "observation", "value": '["18C, sunny", "rain"]'}
    assert len(turns) == 4


def test_sharegpt_keeps_arguments_that_are_not_json_as_written():
    broken = {**CALL, "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}
    turns = sharegpt_record([USER, broken], None)["conversations"]
    assert turns[1]["value"] == '{"name": "f", "arguments": "{oops"}'


def test_alpaca_takes_a_single_turn_with_its_system_prompt():
    assert alpaca_record([SYSTEM, USER, ANSWER]) == (
        {
            "instruction": "Weather in Paris?",
            "input": "",
            "output": "18C and sunny.",
            "system": "Be brief.",
        },
        None,
    )
    assert alpaca_record([USER, ANSWER])[0] == {
        "instruction": "Weather in Paris?",
        "input": "",
        "output": "18C and sunny.",
    }


def test_alpaca_cannot_hold_several_turns_or_tool_calls():
    assert alpaca_record([USER, ANSWER, USER, ANSWER]) == (None, MULTI_TURN)
    assert alpaca_record([USER, CALL, RESULT, ANSWER]) == (None, TOOL_CALLS)
    assert alpaca_record([USER, CALL]) == (None, TOOL_CALLS)


ORIGINAL = Candidate({"role": "assistant", "content": "original"}, "small", 3)
EDITED = Candidate({"role": "assistant", "content": "edited"}, "small", None)
ALT_1 = Candidate({"role": "assistant", "content": "first"}, "big", 5, key=1)
ALT_2 = Candidate({"role": "assistant", "content": "second"}, "bigger", 6, key=2)


@pytest.mark.parametrize(
    ("choose", "chosen", "edited", "alternatives", "picked", "expected"),
    [
        ("original", "edited", EDITED, [ALT_1], None, (ORIGINAL, False)),
        ("edited", "original", EDITED, [], None, (EDITED, False)),
        ("edited", "original", None, [], None, (ORIGINAL, True)),
        ("relabelled", "original", None, [ALT_1, ALT_2], None, (ALT_2, False)),  # the newest
        ("relabelled", "original", None, [ALT_1, ALT_2], 1, (ALT_1, False)),  # the picked one
        ("relabelled", "original", EDITED, [], None, (ORIGINAL, True)),
        ("reviewed", "original", EDITED, [ALT_1], None, (ORIGINAL, False)),
        ("reviewed", "edited", EDITED, [], None, (EDITED, False)),
        ("reviewed", "edited", None, [], None, (ORIGINAL, True)),
        ("reviewed", "alternative", None, [ALT_1, ALT_2], 1, (ALT_1, False)),
        ("reviewed", "alternative", None, [ALT_1], None, (ORIGINAL, True)),  # it was deleted
    ],
)
def test_the_reply_picked_and_the_fallback_to_the_original(
    choose, chosen, edited, alternatives, picked, expected
):
    assert pick_reply(choose, chosen, ORIGINAL, edited, alternatives, picked) == expected


def test_a_split_is_a_fixed_function_of_the_key_and_the_seed():
    keys = [f"request-{i}" for i in range(2000)]
    first = [split_of(k, 0, 0.9) for k in keys]
    assert first == [split_of(k, 0, 0.9) for k in keys]
    assert first != [split_of(k, 1, 0.9) for k in keys]
    share = Counter(first)[TRAIN] / len(keys)
    assert 0.87 < share < 0.93
    assert set(first) == {TRAIN, VALIDATION}


def test_a_record_keeps_its_side_when_the_share_grows():
    keys = [f"k{i}" for i in range(500)]
    trained = {k for k in keys if split_of(k, 7, 0.5) == TRAIN}
    assert trained <= {k for k in keys if split_of(k, 7, 0.8) == TRAIN}
