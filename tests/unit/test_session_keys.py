"""Chain digests: a later turn of a conversation finds the earlier turn it extends."""

from __future__ import annotations

from recording.capture import chain_digests, session_keys, turns

SYSTEM = {"role": "system", "content": "You are terse."}
ASK = {"role": "user", "content": "Write a file"}
CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "Write", "arguments": '{"path": "a.txt", "text": "hi"}'},
        }
    ],
}
RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "written"}
DONE = {"role": "assistant", "content": "Done."}


def test_a_second_turn_extends_the_first():
    first, _ = session_keys([SYSTEM, ASK, CALL])
    second, extends = session_keys([SYSTEM, ASK, CALL, RESULT, DONE])
    assert extends == [first]
    assert second != first


def test_the_call_sent_back_in_another_shape_still_matches():
    """The client resends the call with its own id, JSON spacing and content None."""
    resent = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "toolu_9",
                "type": "function",
                "function": {"name": "Write", "arguments": '{"text":"hi","path":"a.txt"}'},
            }
        ],
    }
    first, _ = session_keys([SYSTEM, ASK, CALL])
    _, extends = session_keys([SYSTEM, ASK, resent, RESULT, DONE])
    assert extends == [first]


def test_text_parts_and_a_string_are_the_same_message():
    as_parts = {"role": "user", "content": [{"type": "text", "text": "Write a file\n"}]}
    assert chain_digests([as_parts]) == chain_digests([ASK])


def test_a_changed_earlier_message_breaks_the_chain():
    first, _ = session_keys([SYSTEM, ASK, CALL])
    other = {"role": "user", "content": "Write another file"}
    _, extends = session_keys([SYSTEM, other, CALL, RESULT, DONE])
    assert first not in extends


def test_every_earlier_reply_is_a_candidate_longest_last():
    one = session_keys([ASK, DONE])[0]
    two = session_keys([ASK, DONE, ASK, DONE])[0]
    _, extends = session_keys([ASK, DONE, ASK, DONE, ASK, DONE])
    assert extends == [one, two]


def test_turns_count_the_model_replies():
    assert turns([SYSTEM, ASK, CALL, RESULT, DONE]) == 2
