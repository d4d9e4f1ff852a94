"""The fake upstream's reasoning models: `reasoning-content` puts its thinking in a separate
field of the reply, as vLLM, DeepSeek and llama.cpp do (`reasoning-content:reasoning` names
the field `reasoning`, as Ollama and newer vLLM do), before the answer."""

from __future__ import annotations

import orjson

REASONING = "First, I read the question. Then I answer it."
WORDS = REASONING.split(" ")


def field_name(how: dict[str, str]) -> str:
    return how.get("reasoning-content") or "reasoning_content"


def add_to_whole(data: dict, how: dict[str, str]) -> dict:
    message = data["choices"][0].get("message")
    if isinstance(message, dict):
        message[field_name(how)] = REASONING
    return data


def add_to_events(events: list[bytes], body: dict, how: dict[str, str]) -> list[bytes]:
    """The reasoning, a word per event, after the first (role) event."""
    name = field_name(how)
    sep = b"\r\n\r\n" if "crlf" in how else b"\n\n"
    base = {"id": "cmpl-fake", "object": "chat.completion.chunk", "model": body.get("model")}
    pieces = [w if i == len(WORDS) - 1 else f"{w} " for i, w in enumerate(WORDS)]
    thinking = [
        b"data: "
        + orjson.dumps(
            {**base, "choices": [{"index": 0, "delta": {name: p}, "finish_reason": None}]}
        )
        + sep
        for p in pieces
    ]
    return [*events[:1], *thinking, *events[1:]]
