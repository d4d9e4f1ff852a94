"""The official ollama client against the gateway's Ollama port, and the wire format."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import ollama
import pytest

pytestmark = pytest.mark.e2e

USER = [{"role": "user", "content": "Hello there, gateway!"}]
THINKING = "<think>secret plan</think>The answer is 42."


def inspected(reply) -> dict:
    return json.loads(reply.message.content)["body"]


def test_chat_whole_and_streamed(ollama_client):
    whole = ollama_client.chat(model="echo", messages=USER, stream=False)
    assert whole.message.content == "Hello there, gateway!"
    assert whole.done and whole.done_reason == "stop"
    assert whole.model == "echo"
    assert whole.eval_count > 0 and whole.prompt_eval_count > 0
    pieces = [
        p.message.content
        for p in ollama_client.chat(model="echo+chunk:5", messages=USER, stream=True)
    ]
    assert "".join(pieces) == "Hello there, gateway!"


def test_generate_whole_and_streamed(ollama_client):
    whole = ollama_client.generate(model="echo", prompt="count to three", stream=False)
    assert whole.response == "count to three" and whole.done
    parts = list(ollama_client.generate(model="echo+chunk:3", prompt="abcdefgh", stream=True))
    assert "".join(p.response for p in parts) == "abcdefgh"
    assert parts[-1].done and not any(p.done for p in parts[:-1])


def test_list_show_ps_and_version(ollama_client, ollama_url):
    names = {m.model for m in ollama_client.list().models}
    assert {"echo", "fake-llama-3-8b", "first-wins"} <= names
    shown = ollama_client.show("echo")
    assert "completion" in shown.capabilities
    assert ollama_client.ps().models == []
    assert httpx.get(f"{ollama_url}/api/version").json()["version"]
    raw = httpx.get(f"{ollama_url}/api/tags").json()["models"][0]
    assert raw["name"] == raw["model"]
    datetime.fromisoformat(raw["modified_at"].replace("Z", "+00:00"))


def test_the_ollama_port_answers_the_health_probe(ollama_url, gateway_url):
    assert httpx.get(f"{ollama_url}/").text == "Ollama is running"
    assert httpx.head(f"{ollama_url}/").status_code == 200
    assert (
        httpx.get(f"{gateway_url}/", headers={"Accept": "application/json"}).json()["service"]
        == "llmproxy"
    )


def test_the_stream_is_exact_ndjson(ollama_url):
    body = {"model": "echo+chunk:4", "messages": USER}
    with httpx.stream("POST", f"{ollama_url}/api/chat", json=body) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        raw = response.read().decode()
    assert raw.endswith("\n") and "\n\n" not in raw and "data:" not in raw
    lines = [json.loads(line) for line in raw.splitlines()]
    assert all(line["message"]["role"] == "assistant" for line in lines)
    assert all(isinstance(line["message"]["content"], str) for line in lines)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    final = lines[-1]
    for key in (
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    ):
        assert isinstance(final[key], int) and final[key] >= 0, key
    assert final["total_duration"] >= final["eval_duration"]
    assert final["done_reason"] == "stop" and final["model"] == "echo+chunk:4"
    for line in lines:
        assert line["created_at"].endswith("Z")
        datetime.fromisoformat(line["created_at"].replace("Z", "+00:00"))


def test_every_option_reaches_the_upstream_in_openai_form(ollama_client):
    options = {
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 20,
        "seed": 7,
        "stop": ["END"],
        "num_predict": 55,
        "repeat_penalty": 1.1,
        "frequency_penalty": 0.2,
        "presence_penalty": 0.1,
    }
    reply = ollama_client.chat(
        model="inspect",
        messages=USER,
        stream=False,
        options=options,
        format="json",
        keep_alive="5m",
    )
    seen = inspected(reply)
    assert {
        k: seen[k]
        for k in (
            "temperature",
            "top_p",
            "top_k",
            "seed",
            "stop",
            "max_tokens",
            "repetition_penalty",
            "frequency_penalty",
            "presence_penalty",
        )
    } == {
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 20,
        "seed": 7,
        "stop": ["END"],
        "max_tokens": 55,
        "repetition_penalty": 1.1,
        "frequency_penalty": 0.2,
        "presence_penalty": 0.1,
    }
    assert seen["response_format"] == {"type": "json_object"}
    assert "keep_alive" not in seen and "options" not in seen
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    seen = inspected(
        ollama_client.chat(model="inspect", messages=USER, stream=False, format=schema)
    )
    assert seen["response_format"]["json_schema"]["schema"] == schema


def test_images_history_with_tool_calls_and_generate_fields_are_converted(ollama_url):
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
        "AAAABJRU5ErkJggg=="
    )
    messages = [
        {"role": "user", "content": "look", "images": [png]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "zoom", "arguments": {"level": 2}}}],
        },
        {"role": "tool", "content": "zoomed", "tool_name": "zoom"},
        {"role": "user", "content": "and now?"},
    ]
    body = {
        "model": "inspect",
        "stream": False,
        "messages": messages,
        "tools": [{"type": "function", "function": {"name": "zoom"}}],
    }
    seen = json.loads(httpx.post(f"{ollama_url}/api/chat", json=body).json()["message"]["content"])[
        "body"
    ]
    assert seen["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
    ]
    call = seen["messages"][1]["tool_calls"][0]
    assert call["function"] == {"name": "zoom", "arguments": '{"level":2}'}
    assert seen["messages"][2] == {"role": "tool", "content": "zoomed", "tool_call_id": call["id"]}
    assert seen["tools"] == body["tools"]
    generated = httpx.post(
        f"{ollama_url}/api/generate",
        json={"model": "inspect", "stream": False, "prompt": "p", "system": "s"},
    ).json()
    assert json.loads(generated["response"])["body"]["messages"] == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "p"},
    ]
    fim = httpx.post(
        f"{ollama_url}/api/generate",
        json={"model": "inspect", "stream": False, "prompt": "def f(", "suffix": "  return x"},
    ).json()
    seen = json.loads(fim["response"])
    assert seen["body"]["suffix"] == "  return x" and seen["body"]["prompt"] == "def f("


def test_tool_calls_come_back_as_ollama_tool_calls(ollama_client):
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    question = [{"role": "user", "content": '{"city": "Oslo"}'}]
    whole = ollama_client.chat(model="echo+tool", messages=question, tools=tools, stream=False)
    assert whole.message.tool_calls[0].function.name == "get_weather"
    assert whole.message.tool_calls[0].function.arguments == {"city": "Oslo"}
    streamed = list(
        ollama_client.chat(model="echo+tool+chunk:3", messages=question, tools=tools, stream=True)
    )
    calls = [c for part in streamed for c in (part.message.tool_calls or [])]
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Oslo"})
    ]


def test_thinking_is_stripped_shown_or_suppressed(ollama_client):
    messages = [{"role": "user", "content": THINKING}]
    plain = ollama_client.chat(model="echo", messages=messages, stream=False)
    assert plain.message.content == "The answer is 42." and not plain.message.thinking
    shown = ollama_client.chat(model="echo", messages=messages, stream=False, think=True)
    assert (shown.message.content, shown.message.thinking) == ("The answer is 42.", "secret plan")
    streamed = list(
        ollama_client.chat(model="echo+chunk:3", messages=messages, think=True, stream=True)
    )
    assert "".join(p.message.thinking or "" for p in streamed) == "secret plan"
    assert "".join(p.message.content for p in streamed) == "The answer is 42."
    hidden = ollama_client.chat(model="inspect", messages=USER, stream=False, think=False)
    assert inspected(hidden)["messages"][-1]["content"].endswith("/no_think")


def test_model_mapping_applies_and_the_client_sees_its_own_name(ollama_client):
    reply = ollama_client.chat(model="map-exact", messages=USER, stream=False)
    assert reply.message.content == "w0 w1 w2"  # MODEL_MAP: map-exact -> echo+words:3
    assert reply.model == "map-exact"


def test_errors_come_in_ollamas_shape(ollama_client, ollama_url):
    missing = httpx.post(f"{ollama_url}/api/chat", json={"messages": USER})
    assert missing.status_code == 400 and missing.json() == {"error": "model is required"}
    assert httpx.post(f"{ollama_url}/api/generate", json={"model": "echo"}).status_code == 400
    with pytest.raises(ollama.ResponseError) as unknown:
        ollama_client.chat(model="status:404", messages=USER, stream=False)
    assert unknown.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as dead:
        ollama_client.chat(model="dead-model", messages=USER, stream=False)
    assert dead.value.status_code == 502
    with pytest.raises(ollama.ResponseError) as silent:
        ollama_client.chat(model="hang", messages=USER, stream=False)
    assert silent.value.status_code == 504
    with pytest.raises(ollama.ResponseError) as dropped:
        list(ollama_client.chat(model="echo+drop-after:3", messages=USER, stream=True))
    assert "lost" in str(dropped.value)


def test_an_empty_prompt_just_loads_the_model(ollama_client):
    loaded = ollama_client.generate(model="echo", prompt="", stream=False)
    assert loaded.done and loaded.done_reason == "load"


def test_ollama_requests_are_recorded_and_captured_in_their_workflow(
    ollama_url, gateway_proc, tmp_path
):
    from tests.e2e.test_recording import manage, wait_for_row

    proc, _ = gateway_proc
    whole = httpx.post(
        f"{ollama_url}/api/chat",
        json={"model": "echo", "stream": False, "messages": USER, "workflow_id": "ollama-flow"},
    )
    with httpx.stream(
        "POST",
        f"{ollama_url}/api/generate",
        json={"model": "echo+chunk:2", "prompt": "abcdef", "workflow_id": "ollama-flow"},
    ) as streamed:
        streamed.read()
    rows = [wait_for_row(proc, r.headers["x-request-id"]) for r in (whole, streamed)]
    assert [(r["service"], r["endpoint"], r["state"]) for r in rows] == [
        ("ollama", "/api/chat", "ok"),
        ("ollama", "/api/generate", "ok"),
    ]
    assert (rows[0]["prompt_tokens"], rows[0]["completion_tokens"]) == (4, 3)
    assert rows[1]["completion_tokens"] == 3 and rows[1]["stream"] == 1
    manage(proc, "export_chatml", "--out", str(tmp_path), "--workflow", "ollama-flow")
    records = [
        json.loads(x)
        for x in (tmp_path / "ollama-flow" / "conversations.jsonl").read_text().splitlines()
    ]
    assert [r["messages"] for r in records] == [
        [*USER, {"role": "assistant", "content": "Hello there, gateway!"}],
        [{"role": "user", "content": "abcdef"}, {"role": "assistant", "content": "abcdef"}],
    ]
