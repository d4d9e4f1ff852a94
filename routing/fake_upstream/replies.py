"""Pure builders of the fake upstream's OpenAI-style replies, whole and streamed."""

from __future__ import annotations

import time

import orjson

from routing.fake_upstream.behaviour import tool_name, usage
from routing.fake_upstream.reasoning import add_reasoning, reasoning_chunks


def whole(body: dict, text: str, parts: list[str], how: dict, chat: bool, name: str) -> dict:
    """A whole reply."""
    choice = {"index": 0, "finish_reason": "stop", "logprobs": None}
    choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
    if chat and "tool" in how:
        call = {
            "id": "call_fake",
            "type": "function",
            "function": {"name": tool_name(body, how), "arguments": text},
        }
        choice.update(
            finish_reason="tool_calls",
            message={"role": "assistant", "content": None, "tool_calls": [call]},
        )
    data = {
        "id": "cmpl-fake",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "system_fingerprint": name,
        "choices": [choice],
    }
    if "no-usage" not in how:
        data["usage"] = usage(body, parts)
    if chat and "reasoning" in how:
        add_reasoning(data)
    return data


def events(body: dict, parts: list[str], how: dict, chat: bool, name: str) -> list[bytes]:
    """The SSE events of a streamed reply."""
    base = {
        "id": "cmpl-fake",
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "system_fingerprint": name,
    }
    chunks = []
    if chat:
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                    }
                ],
            }
        )
    if chat and "reasoning" in how:
        chunks += reasoning_chunks(base)
    calls = chat and "tool" in how
    for i, piece in enumerate(parts):
        if calls:  # the arguments arrive in pieces, as real servers send them
            call = {"index": 0, "function": {"arguments": piece}}
            if i == 0:
                call.update(id="call_fake", type="function")
                call["function"]["name"] = tool_name(body, how)
            choice = {"index": 0, "delta": {"tool_calls": [call]}}
        elif chat:
            choice = {"index": 0, "delta": {"content": piece}}
        else:
            choice = {"index": 0, "text": piece}
        chunks.append({**base, "choices": [{**choice, "finish_reason": None}]})
    last = {"index": 0, "delta": {}} if chat else {"index": 0, "text": ""}
    finish = "tool_calls" if calls else "stop"
    chunks.append({**base, "choices": [{**last, "finish_reason": finish}]})
    wants_usage = (body.get("stream_options") or {}).get("include_usage")
    if wants_usage and "no-usage" not in how:
        chunks.append({**base, "choices": [], "usage": usage(body, parts)})
    sep = b"\r\n\r\n" if "crlf" in how else b"\n\n"
    out = [b"data: " + orjson.dumps(c) + sep for c in chunks]
    if "malformed" in how:
        out.insert(1, b"data: {not json" + sep)
    if "no-done" not in how:
        out.append(b"data: [DONE]" + sep)
    return out
