"""The fake upstream's one-step agent: it calls the tool a prompt names, then answers with
the tool's result."""

from __future__ import annotations

from routing.fake_upstream.behaviour import agent_turn

TOOLS = [
    {"type": "function", "function": {"name": "Bash", "parameters": {}}},
    {"type": "function", "function": {"name": "Write", "parameters": {}}},
]


def test_it_calls_the_tool_the_prompt_names_with_its_arguments():
    body = {
        "messages": [{"role": "user", "content": 'Please CALL Write {"file_path": "a.txt"} now'}],
        "tools": TOOLS,
    }
    assert agent_turn(body) == ('{"file_path": "a.txt"}', "Write")


def test_a_tool_that_is_not_offered_is_not_called():
    body = {"messages": [{"role": "user", "content": "CALL Edit {}"}], "tools": TOOLS}
    assert agent_turn(body) == ("CALL Edit {}", None)


def test_after_the_tool_result_it_answers_with_it():
    body = {
        "messages": [
            {"role": "user", "content": "CALL Bash {}"},
            {"role": "assistant", "tool_calls": [{"id": "c1"}]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]},
        ],
        "tools": TOOLS,
    }
    assert agent_turn(body) == ("Done. The tool said: 42", None)
