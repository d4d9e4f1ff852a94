"""Tool calls written by the real server (the tiny model calls a tool when `<tool_call>` and a
newline are favoured by logit_bias), and embeddings from its embeddings server."""

from __future__ import annotations

import json

import openai
import pytest

from tests.real.compare import SAME_PROMPT_TWICE, both, both_streamed, comparable, same_stream

pytestmark = pytest.mark.real

CHAT = "/v1/chat/completions"
# Token 261 is <tool_call>, 13 a newline (scripts/realup/tiny_model.py).
CALL_A_TOOL = {"261": 50, "13": 60}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "enum": ["Paris", "Oslo"]}},
            "required": ["city"],
        },
    },
}


def tool_body(**extra) -> dict:
    return {
        "model": "tiny",
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [WEATHER],
        "logit_bias": CALL_A_TOOL,
        "max_tokens": 250,  # the favoured newlines fill the call with whitespace
        **SAME_PROMPT_TWICE,
        **extra,
    }


def test_a_tool_call_comes_back_as_the_server_wrote_it(llama, gateway):
    direct, relayed = both(llama.url, gateway.url, CHAT, tool_body())
    assert comparable(relayed) == comparable(direct)
    call = relayed["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["city"] in ("Paris", "Oslo")


def test_a_streamed_tool_call_comes_back_event_by_event(llama, gateway):
    direct, relayed = both_streamed(llama.url, gateway.url, CHAT, tool_body(stream=True))
    same_stream(direct, relayed)
    assert any(
        "tool_calls" in (c.get("delta") or {})
        for e in relayed
        if isinstance(e, dict)
        for c in e["choices"]
    )


def test_the_openai_client_reads_the_tool_call_and_the_next_turn_works(gateway):
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0)
    body = tool_body()
    del body["logit_bias"], body["cache_prompt"]
    first = client.chat.completions.create(**body, extra_body={"logit_bias": CALL_A_TOOL})
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    body["messages"] = [
        *body["messages"],
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear"}'},
    ]
    second = client.chat.completions.create(**{**body, "max_tokens": 16})  # no bias now
    assert second.choices[0].finish_reason in ("stop", "length")


def test_embeddings_are_the_servers(llama_embeddings, gateway):
    body = {"model": "tiny-embed", "input": ["hello there", "general kenobi"]}
    direct, relayed = both(llama_embeddings.url, gateway.url, "/v1/embeddings", body)
    assert [d["embedding"] for d in relayed["data"]] == [d["embedding"] for d in direct["data"]]
    assert len(relayed["data"][0]["embedding"]) == 64
