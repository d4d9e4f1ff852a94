"""Pure reading of Messages replies from an upstream that speaks Anthropic's API natively.

The client gets them as they are; the gateway reads them back into OpenAI terms (a chat
completion, or its stream chunks) so that the log, the cache and the training capture see
the same reply they see from every other upstream.
"""

from __future__ import annotations

import orjson

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}


def usage_of(usage: object) -> dict | None:
    """Anthropic token counts as OpenAI's (cached input counts as prompt, as OpenAI's does)."""
    if not isinstance(usage, dict):
        return None
    prompt = sum(
        usage.get(k) or 0
        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    completion = usage.get("output_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_of(message: dict) -> dict:
    """A whole Messages reply as a chat completion."""
    text, reasoning, calls = [], [], []
    for block in message.get("content") or ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id") or "",
                    "type": "function",
                    "function": {
                        "name": block.get("name") or "",
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    holder: dict = {"role": "assistant", "content": "".join(text)}
    if reasoning:
        holder["reasoning_content"] = "".join(reasoning)
    if calls:
        holder["tool_calls"] = calls
    choice = {
        "index": 0,
        "message": holder,
        "finish_reason": FINISH_REASONS.get(message.get("stop_reason") or "", "stop"),
    }
    data = {"object": "chat.completion", "model": message.get("model"), "choices": [choice]}
    if (usage := usage_of(message.get("usage"))) is not None:
        data["usage"] = usage
    return data


class EventReader:
    """Reads Messages stream events back into chat chunks (one call per event)."""

    def __init__(self) -> None:
        self.tools: dict[int, int] = {}  # block index -> tool call index
        self.usage: dict = {}

    def chunk(self, payload: dict) -> dict | None:
        """The chat chunk an event amounts to, or None when it says nothing of the reply."""
        kind = payload.get("type")
        if kind == "message_start":
            message = payload.get("message") or {}
            self.usage.update(message.get("usage") or {})
            return None
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v})
            reason = (payload.get("delta") or {}).get("stop_reason")
            return _chunk({}, FINISH_REASONS.get(reason or "", "stop"))
        index = payload.get("index")
        if kind == "content_block_start":
            block = payload.get("content_block") or {}
            if block.get("type") != "tool_use":
                return None
            self.tools[index] = position = len(self.tools)
            call = {
                "index": position,
                "id": block.get("id") or "",
                "type": "function",
                "function": {"name": block.get("name") or "", "arguments": ""},
            }
            return _chunk({"tool_calls": [call]})
        if kind == "content_block_delta":
            return self._delta(index, payload.get("delta") or {})
        return None

    def _delta(self, index: object, delta: dict) -> dict | None:
        kind = delta.get("type")
        if kind == "text_delta":
            return _chunk({"content": delta.get("text") or ""})
        if kind == "thinking_delta":
            return _chunk({"reasoning_content": delta.get("thinking") or ""})
        if kind == "input_json_delta" and index in self.tools:
            call = {
                "index": self.tools[index],
                "function": {"arguments": delta.get("partial_json") or ""},
            }
            return _chunk({"tool_calls": [call]})
        return None

    def counted(self) -> dict | None:
        return usage_of(self.usage) if self.usage else None


def _chunk(delta: dict, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
