"""Pure construction of ChatML training records from an exchange's request and reply."""

from __future__ import annotations

import hashlib

import orjson

CAPTURED_FINISH = {None, "stop", "tool_calls", "function_call", "end_turn"}


def prompt_messages(body: dict, kind: str) -> list[dict] | None:
    """The conversation so far: chat messages, or a completion prompt as one user message."""
    if kind == "chat":
        messages = body.get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else None
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else None


def training_messages(
    body: dict, kind: str, reply: dict, finish_reason: str | None
) -> list[dict] | None:
    """The messages to keep, or None when the exchange is not training data (cut off, empty)."""
    if finish_reason not in CAPTURED_FINISH:
        return None
    if not reply.get("content") and not reply.get("tool_calls"):
        return None
    messages = prompt_messages(body, kind)
    return [*messages, reply] if messages else None


def digest(messages: list[dict]) -> str:
    return hashlib.sha1(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS)).hexdigest()
