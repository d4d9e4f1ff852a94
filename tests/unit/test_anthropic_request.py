"""Messages requests as chat completions bodies (pure)."""

from __future__ import annotations

import orjson
import pytest

from routing.apis.anthropic.request import chat_request, with_model
from routing.core.errors import BadRequestError


def body(**fields) -> dict:
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, **fields}


def test_system_blocks_and_turns_become_chat_messages():
    out, asked = chat_request(
        body(
            system=[
                {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be kind."},
            ],
            messages=[
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                {"role": "assistant", "content": "Hello"},
                {"role": "system", "content": "The user is in a hurry."},
                {"role": "user", "content": "Bye"},
            ],
        )
    )
    assert out["messages"] == [
        {"role": "system", "content": "Be brief.\n\nBe kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "system", "content": "The user is in a hurry."},
        {"role": "user", "content": "Bye"},
    ]
    assert out["max_tokens"] == 100 and out["stream"] is False
    assert asked.model == "claude-sonnet-4-5" and asked.thinking is None


def test_tool_use_and_results_keep_their_ids_and_order():
    out, _ = chat_request(
        body(
            messages=[
                {"role": "user", "content": "List files"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "s"},
                        {"type": "text", "text": "Looking."},
                        {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"c": 1}},
                        {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "is_error": True,
                            "content": [{"type": "text", "text": "no such file"}],
                        },
                        {"type": "text", "text": "Go on."},
                    ],
                },
            ]
        )
    )
    assistant, first, second, rest = out["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": "Looking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "Bash", "arguments": '{"c":1}'},
            },
            {"id": "toolu_2", "type": "function", "function": {"name": "Read", "arguments": "{}"}},
        ],
    }
    assert first == {"role": "tool", "tool_call_id": "toolu_1", "content": "a.txt"}
    assert second == {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: no such file"}
    assert rest == {"role": "user", "content": "Go on."}


def test_a_turn_of_only_tool_results_adds_no_empty_user_message():
    out, _ = chat_request(
        body(
            messages=[
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "A", "input": {}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
            ]
        )
    )
    assert out["messages"][-1] == {"role": "tool", "tool_call_id": "t", "content": ""}
    assert out["messages"][-2]["content"] is None


def test_images_and_text_documents_become_parts():
    out, _ = chat_request(
        body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/jpeg",
                                "data": "AAAA",
                            },
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                        {
                            "type": "document",
                            "title": "Notes",
                            "source": {"type": "text", "data": "n1"},
                        },
                    ],
                }
            ]
        )
    )
    assert out["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
        {"type": "text", "text": "Notes\n\nn1"},
    ]


def test_tools_choice_and_sampling_are_translated_and_server_tools_dropped():
    out, asked = chat_request(
        body(
            tools=[
                {"name": "Bash", "description": "Run", "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search"},
            ],
            tool_choice={"type": "tool", "name": "Bash", "disable_parallel_tool_use": True},
            stop_sequences=["END"],
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            metadata={"user_id": "u-1"},
            messages=[{"role": "user", "content": "x"}],
        )
    )
    assert out["tools"] == [
        {
            "type": "function",
            "function": {"name": "Bash", "parameters": {"type": "object"}, "description": "Run"},
        }
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "Bash"}}
    assert out["parallel_tool_calls"] is False
    assert (out["stop"], out["temperature"], out["top_p"], out["top_k"]) == (["END"], 0.2, 0.9, 40)
    assert out["user"] == "u-1"
    assert asked.dropped_tools == ["web_search"] and asked.stop_sequences == ["END"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none")],
)
def test_tool_choice_kinds(choice, expected):
    tools = [{"name": "A", "input_schema": {}}]
    out, _ = chat_request(
        body(tools=tools, tool_choice=choice, messages=[{"role": "user", "content": "x"}])
    )
    assert out["tool_choice"] == expected


@pytest.mark.parametrize(
    ("thinking", "shown", "omitted"),
    [
        ({"type": "enabled", "budget_tokens": 2000}, True, False),
        ({"type": "adaptive", "display": "omitted"}, True, True),
        ({"type": "disabled"}, False, False),
    ],
)
def test_thinking_is_read_and_not_sent_on(thinking, shown, omitted):
    out, asked = chat_request(
        body(
            thinking=thinking,
            output_config={"effort": "high"},
            context_management={"edits": []},
            messages=[{"role": "user", "content": "x"}],
        )
    )
    assert (asked.thinking, asked.omit_thinking) == (shown, omitted)
    assert not {"thinking", "output_config", "context_management"} & set(out)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "bot", "content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages[0].content[0]",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}
                ]
            },
            "messages[0].content[0]",
        ),
        (
            {
                "tool_choice": {"type": "tool", "name": "missing"},
                "tools": [{"name": "A", "input_schema": {}}],
            },
            "tool_choice.name",
        ),
        ({"thinking": {"type": "maybe"}}, "thinking.type"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_bad_requests_name_the_field(fields, where):
    request = {**body(messages=[{"role": "user", "content": "x"}]), **fields}
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(BadRequestError) as caught:
        chat_request(request)
    assert caught.value.param == where


def test_a_native_upstream_gets_the_body_under_the_route_model():
    sent = orjson.loads(with_model(body(messages=[], workflow_id="w"), "qwen3-coder"))
    assert sent == {"model": "qwen3-coder", "max_tokens": 100, "messages": []}
