"""Pure conversions between Ollama's and OpenAI's shapes."""

from __future__ import annotations

import pytest

from routing.apis.ollama.reply import OllamaReply, Timings, tool_calls_to_ollama
from routing.apis.ollama.request import (
    chat_request,
    generate_request,
    image_part,
    strip_unsupported,
    think_setting,
)
from routing.core.errors import BadRequestError


def test_a_chat_streams_by_default_and_maps_num_predict():
    body = chat_request(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "options": {"num_predict": 10, "num_ctx": 4096, "temperature": 0},
        }
    )
    assert body == {
        "model": "m",
        "stream": True,
        "max_tokens": 10,
        "temperature": 0,
        "messages": [{"role": "user", "content": "x"}],
    }


def test_unlimited_num_predict_sets_no_max_tokens():
    body = chat_request(
        {"model": "m", "messages": [{"role": "user"}], "options": {"num_predict": -1}}
    )
    assert "max_tokens" not in body


@pytest.mark.parametrize(
    ("data", "mime"),
    [("iVBORw0KGgo", "image/png"), ("/9j/4AAQ", "image/jpeg"), ("R0lGODlh", "image/gif")],
)
def test_images_become_data_urls_with_their_type(data, mime):
    assert image_part(data)["image_url"]["url"] == f"data:{mime};base64,{data}"


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"model": "m"},
        {"model": "m", "messages": [{"content": "no role"}]},
        {"model": "m", "messages": [{"role": "user"}], "stream": "yes"},
        {"model": "m", "messages": [{"role": "user"}], "format": "yaml"},
    ],
)
def test_bad_chat_bodies_are_refused(body):
    with pytest.raises(BadRequestError):
        chat_request(body)


def test_generate_with_suffix_goes_to_plain_completions():
    body, kind = generate_request({"model": "m", "prompt": "a", "suffix": "z", "stream": False})
    assert kind == "text" and body["prompt"] == "a" and body["suffix"] == "z"
    body, kind = generate_request({"model": "m", "prompt": "q", "system": "s"})
    assert kind == "chat" and body["messages"][0] == {"role": "system", "content": "s"}


def test_openai_only_hosts_lose_the_fields_they_refuse():
    body = {"top_k": 5, "repetition_penalty": 1.1, "temperature": 1}
    strip_unsupported(body, "https://api.openai.com")
    assert body == {"temperature": 1}
    kept = {"top_k": 5}
    strip_unsupported(kept, "http://vllm:8000")
    assert kept == {"top_k": 5}


@pytest.mark.parametrize(
    ("think", "expected"), [(None, None), (True, True), ("high", True), (False, False)]
)
def test_think_levels(think, expected):
    body = {} if think is None else {"think": think}
    assert think_setting(body) is expected


def test_tool_call_arguments_become_objects():
    calls = [
        {"id": "c", "function": {"name": "f", "arguments": '{"a": 1}'}},
        {"function": {"name": "g", "arguments": "not json"}},
    ]
    assert tool_calls_to_ollama(calls) == [
        {"function": {"name": "f", "arguments": {"a": 1}}},
        {"function": {"name": "g", "arguments": {"raw": "not json"}}},
    ]


def test_the_final_line_has_integer_nanoseconds():
    reply = OllamaReply("asked", chat=True)
    line = reply.final_line("length", Timings(10.0, 10.5, 12.0, 7, 9))
    assert line["done_reason"] == "length"
    assert line["total_duration"] == 2_000_000_000
    assert line["prompt_eval_duration"] == 500_000_000
    assert line["eval_duration"] == 1_500_000_000
    assert (line["prompt_eval_count"], line["eval_count"]) == (7, 9)
    assert line["message"] == {"role": "assistant", "content": ""}
    assert line["model"] == "asked"
