"""Builders of upstream replies for respx."""

from __future__ import annotations

import json

import httpx


def chat_reply(content: str, model: str = "m", usage: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def sse_body(pieces: list[str], model: str = "m", sep: str = "\n\n") -> bytes:
    events = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
        }
        for p in pieces
    ]
    events.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    text = "".join(f"data: {json.dumps(e)}{sep}" for e in events) + f"data: [DONE]{sep}"
    return text.encode()


def sse_response(pieces: list[str], **kw) -> httpx.Response:
    return httpx.Response(
        200, content=sse_body(pieces, **kw), headers={"content-type": "text/event-stream"}
    )


def sse_contents(text: str) -> tuple[str, list[dict]]:
    """The concatenated delta contents and the parsed events of an SSE reply."""
    events = [
        json.loads(line[6:])
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    content = "".join(
        (c.get("delta") or {}).get("content") or "" for e in events for c in e.get("choices", [])
    )
    return content, events


def sent_json(route) -> dict:
    return json.loads(route.calls.last.request.content)
