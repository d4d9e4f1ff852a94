"""Chat and text completions, whole and streamed: the gateway's answer is the server's answer,
field by field (its `timings`, its unasked usage and its stray bytes included)."""

from __future__ import annotations

import openai
import pytest

from tests.real.compare import (
    SAME_PROMPT_TWICE,
    both,
    both_streamed,
    comparable,
    same_stream,
)

pytestmark = pytest.mark.real

CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say something random, please."},
]


def chat_body(**extra) -> dict:
    return {"model": "tiny", "messages": MESSAGES, "max_tokens": 24, **SAME_PROMPT_TWICE, **extra}


def text_body(**extra) -> dict:
    return {
        "model": "tiny",
        "prompt": "Once upon a time",
        "max_tokens": 24,
        **SAME_PROMPT_TWICE,
        **extra,
    }


def test_a_whole_chat_answer_is_the_servers(llama, gateway):
    direct, relayed = both(llama.url, gateway.url, CHAT, chat_body())
    assert comparable(relayed) == comparable(direct)
    assert relayed["usage"]["completion_tokens"] == 24
    assert "timings" in relayed  # llama.cpp's own field travels too


def test_a_streamed_chat_is_the_servers_event_by_event(llama, gateway):
    direct, relayed = both_streamed(llama.url, gateway.url, CHAT, chat_body(stream=True))
    same_stream(direct, relayed)
    assert "timings" in relayed[-2]  # on the final chunk, as the server sends it unasked
    assert not any("usage" in e for e in relayed if isinstance(e, dict))


def test_a_streamed_chat_that_asks_for_usage_gets_the_servers_usage_chunk(llama, gateway):
    body = chat_body(stream=True, stream_options={"include_usage": True})
    direct, relayed = both_streamed(llama.url, gateway.url, CHAT, body)
    same_stream(direct, relayed)
    assert relayed[-2]["choices"] == [] and relayed[-2]["usage"]["completion_tokens"] == 24


def test_a_whole_text_completion_is_the_servers(llama, gateway):
    direct, relayed = both(llama.url, gateway.url, TEXT, text_body())
    assert comparable(relayed) == comparable(direct)


@pytest.mark.parametrize("ask", [False, True], ids=["usage-unasked", "usage-asked"])
def test_a_streamed_text_completion_is_the_servers_with_its_unasked_usage(llama, gateway, ask):
    body = {**text_body(), "stream": True}
    if ask:
        body["stream_options"] = {"include_usage": True}
    direct, relayed = both_streamed(llama.url, gateway.url, TEXT, body)
    same_stream(direct, relayed)
    assert relayed[-2]["usage"]["completion_tokens"] == 24  # sent by the server unasked


def test_the_openai_client_reads_the_same_text_both_ways(llama, gateway):
    direct = openai.OpenAI(base_url=f"{llama.url}/v1", api_key="x")
    relayed = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x")
    extra = {"cache_prompt": False}
    ask = {"model": "tiny", "messages": MESSAGES, "max_tokens": 16, "temperature": 0}
    expected = direct.chat.completions.create(**ask, extra_body=extra).choices[0].message
    got = relayed.chat.completions.create(**ask, extra_body=extra).choices[0].message
    assert got.content == expected.content
    streamed = relayed.chat.completions.create(**ask, extra_body=extra, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == (
        expected.content
    )


def test_the_model_list_holds_the_servers_model(gateway):
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x")
    assert "tiny" in [m.id for m in client.models.list()]


def test_many_requests_in_a_row_all_answer_although_the_server_drops_idle_connections(gateway):
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0)
    for n in range(40):
        reply = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": f"n{n}"}], max_tokens=2
        )
        assert reply.choices[0].finish_reason in ("length", "stop")
