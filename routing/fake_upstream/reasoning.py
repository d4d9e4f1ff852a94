"""The `reasoning` behaviour: the thinking comes as `reasoning_content`, before the answer.

That is how vLLM's reasoning parsers and DeepSeek send it (not as <think> tags in the text).
"""

from __future__ import annotations

THINKING = "Let me think about this."


def add_reasoning(data: dict) -> None:
    """A whole reply's message gets its thinking."""
    for choice in data.get("choices") or ():
        if isinstance(choice.get("message"), dict):
            choice["message"]["reasoning_content"] = THINKING


def reasoning_chunks(base: dict) -> list[dict]:
    """Stream chunks of the thinking, one word each, to go before the answer's."""
    words = THINKING.split(" ")
    pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
    return [
        {
            **base,
            "choices": [{"index": 0, "delta": {"reasoning_content": p}, "finish_reason": None}],
        }
        for p in pieces
    ]
