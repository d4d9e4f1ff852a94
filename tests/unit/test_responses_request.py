"""Responses requests as chat-completions bodies (pure: no Django)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.apis.responses.request import chat_request, read_request
from routing.apis.responses.translate_items import normalised
from routing.apis.responses.translate_tools import translate_tool_choice, translate_tools
from routing.core.errors import BadRequestError


def translate(body: dict, history: list[dict] | None = None):
    return chat_request(read_request(body), history or [])


def test_a_string_input_is_one_user_message_after_the_instructions():
    chat = translate({"model": "m", "input": "hi", "instructions": "Be brief."}).chat
    assert chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert chat["model"] == "m" and chat["stream"] is False


def test_developer_messages_become_one_leading_system_message():
    body = {
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "a"}],
            },
            {"role": "developer", "content": "b"},
            {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"role": "developer", "content": "late"},
        ],
        "instructions": "first",
    }
    messages = translate(body).chat["messages"]
    assert messages == [
        {"role": "system", "content": "first\n\na\n\nb"},
        {"role": "user", "content": "q"},
        {"role": "system", "content": "late"},
    ]


def test_images_keep_the_user_content_as_parts():
    body = {
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this?"},
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64,AAAA",
                        "detail": "low",
                    },
                ],
            }
        ]
    }
    (message,) = translate(body).chat["messages"]
    assert message["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
    }


def test_calls_and_their_outputs_become_tool_calls_and_tool_messages():
    body = {
        "input": [
            {"role": "user", "content": "weather?"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "x"}]},
            {"type": "function_call", "call_id": "c1", "name": "get", "arguments": '{"a":1}'},
            {
                "type": "function_call",
                "call_id": "c2",
                "name": "spawn_agent",
                "namespace": "multi_agent_v1",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "spawned"}],
            },
        ]
    }
    messages = translate(body).chat["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get", "arguments": '{"a":1}'}},
            {
                "id": "c2",
                "type": "function",
                "function": {"name": "multi_agent_v1__spawn_agent", "arguments": "{}"},
            },
        ],
    }
    assert messages[2:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "spawned"},
    ]
    assert not any(m.get("content") == "x" for m in messages)  # reasoning is not sent back


def test_an_assistant_message_keeps_the_calls_that_follow_it():
    body = {
        "input": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "On it."}]},
            {"type": "function_call", "call_id": "c1", "name": "run", "arguments": "{}"},
        ]
    }
    messages = translate(body).chat["messages"]
    assert messages[1]["content"] == "On it." and len(messages[1]["tool_calls"]) == 1


def test_the_stored_conversation_comes_before_the_new_input():
    history = normalised(
        [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}], "b"
    )
    chat = translate({"input": "three", "instructions": "sys"}, history).chat
    assert [m["content"] for m in chat["messages"]] == ["sys", "one", "two", "three"]


def test_an_item_reference_is_resolved_from_the_conversation():
    history = normalised([{"role": "user", "content": "remember me"}], "b")
    body = {"input": [{"type": "item_reference", "id": history[0]["id"]}]}
    assert translate(body, history).chat["messages"][-1]["content"] == "remember me"
    with pytest.raises(BadRequestError) as error:
        translate({"input": [{"type": "item_reference", "id": "msg_nope"}]})
    assert error.value.param == "input[0]"


def test_function_tools_pass_and_namespaces_flatten_and_hosted_tools_are_dropped():
    tools = translate_tools(
        [
            {
                "type": "function",
                "name": "exec_command",
                "parameters": {"type": "object"},
                "strict": False,
            },
            {
                "type": "namespace",
                "name": "multi_agent_v1",
                "description": "agents",
                "tools": [{"type": "function", "name": "spawn_agent", "description": "spawn"}],
            },
            {"type": "web_search", "external_web_access": False},
            {"type": "custom", "name": "apply_patch", "description": "patch"},
        ]
    )
    names = [t["function"]["name"] for t in tools.chat]
    assert names == ["exec_command", "multi_agent_v1__spawn_agent", "apply_patch"]
    assert tools.chat[0]["function"]["strict"] is False
    assert tools.chat[1]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert tools.dropped == ["web_search"]
    assert tools.names.call_item("multi_agent_v1__spawn_agent", "{}") == {
        "type": "function_call",
        "name": "spawn_agent",
        "arguments": "{}",
        "namespace": "multi_agent_v1",
    }
    assert tools.names.call_item("apply_patch", '{"input": "*** Begin"}') == {
        "type": "custom_tool_call",
        "name": "apply_patch",
        "input": "*** Begin",
    }


def test_tool_choice_forms():
    assert translate_tool_choice("required") == "required"
    assert translate_tool_choice({"type": "function", "name": "f"}) == {
        "type": "function",
        "function": {"name": "f"},
    }
    assert translate_tool_choice({"type": "allowed_tools", "mode": "required", "tools": []}) == (
        "required"
    )
    assert translate_tool_choice({"type": "web_search"}) == "auto"


def test_only_hosted_tools_leave_no_tools_and_no_tool_choice_upstream():
    chat = translate(
        {
            "input": "x",
            "tools": [{"type": "web_search"}],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
        }
    ).chat
    assert "tools" not in chat and "tool_choice" not in chat and "parallel_tool_calls" not in chat


def test_settings_that_an_upstream_could_refuse_are_never_passed_on():
    body = {
        "input": "x",
        "stream": True,
        "max_output_tokens": 50,
        "temperature": 0.5,
        "user": "u1",
        "metadata": {"a": "b"},
        "reasoning": {"effort": "high", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k",
        "client_metadata": {"x": "y"},
        "truncation": "auto",
        "service_tier": "priority",
        "store": False,
        "safety_identifier": "s",
        "text": {"format": {"type": "text"}, "verbosity": "low"},
    }
    chat = translate(body).chat
    assert set(chat) == {
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "temperature",
        "user",
    }
    assert chat["max_tokens"] == 50 and chat["stream_options"] == {"include_usage": True}


def test_text_formats_become_response_formats():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "name": "num", "schema": schema, "strict": True}
    chat = translate({"input": "x", "text": {"format": fmt}}).chat
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "num", "schema": schema, "strict": True},
    }
    chat = translate({"input": "x", "text": {"format": {"type": "json_object"}}}).chat
    assert chat["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "input"),
        ({"input": 3}, "input"),
        ({"input": [3]}, "input[0]"),
        ({"input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "input[0].content[0]",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input[0].content[0]",
        ),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x", "max_output_tokens": True}, "max_output_tokens"),
        ({"input": "x", "store": "yes"}, "store"),
        ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "x", "tools": "all"}, "tools"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        ({"input": []}, "input"),
    ],
)
def test_bad_requests_name_the_field(body, param):
    with pytest.raises(BadRequestError) as error:
        translate(body)
    assert error.value.param == param


def test_the_request_says_whether_to_show_thinking():
    assert read_request({"input": "x"}).think() is None
    assert read_request({"input": "x", "reasoning": {"summary": "auto"}}).think() is True
    assert read_request({"input": "x", "reasoning": {"effort": "low"}}).think() is True
    assert read_request({"input": "x", "reasoning": {"effort": "none"}}).think() is False


def test_stored_items_get_ids_and_parts():
    items = normalised(
        [
            {"role": "user", "content": "hi"},
            {"type": "function_call_output", "call_id": "c", "output": "o"},
        ],
        "abc",
    )
    assert items[0] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
        "status": "completed",
        "id": "msg_abc_in0",
    }
    assert items[1]["id"] == "fco_abc_in1"
    kept = normalised(
        [{"type": "message", "id": "msg_client", "role": "user", "content": []}], "abc"
    )
    assert kept[0]["id"] == "msg_client"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                "message",
                "function_call",
                "function_call_output",
                "item_reference",
                "reasoning",
                "custom_tool_call",
            ]
        )
        | JSON,
        "role": st.sampled_from(["user", "assistant", "developer"]) | JSON,
        "content": JSON
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["input_text", "input_image"]) | JSON, "text": JSON}
            )
        ),
        "call_id": JSON,
        "name": JSON,
        "id": JSON,
        "arguments": JSON,
        "output": JSON,
        "namespace": JSON,
    },
)
BODY = st.fixed_dictionaries(
    {"input": st.text(max_size=5) | st.lists(ITEM, max_size=4) | JSON},
    optional={
        name: JSON
        for name in (
            "instructions",
            "tools",
            "tool_choice",
            "text",
            "reasoning",
            "max_output_tokens",
            "store",
            "stream",
            "parallel_tool_calls",
            "metadata",
            "user",
            "temperature",
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(BODY)
def test_any_body_is_translated_or_refused_with_a_named_field(body):
    try:
        request = read_request(body)
        request.think()
        chat_request(request, [])
    except BadRequestError as error:
        assert error.status == 400 and error.message
