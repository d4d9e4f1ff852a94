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


def _canonical_text(content: object) -> str:
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else None
                parts.append(part.get("text") or (f"[image {_short(url)}]" if url else ""))
        content = "\n\n".join(p for p in parts if p)
    return content.strip() if isinstance(content, str) else ""


def _short(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _canonical_arguments(arguments: object) -> object:
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return arguments.strip()
    return arguments


def canonical(message: dict) -> bytes:
    """A message as a client sends it back a turn later, whatever its API: text without the
    whitespace round it, tool calls by name and arguments (ids and JSON spacing differ from
    one API's translation to another's)."""
    calls = [
        [
            (c.get("function") or {}).get("name"),
            _canonical_arguments((c.get("function") or {}).get("arguments")),
        ]
        for c in message.get("tool_calls") or ()
        if isinstance(c, dict)
    ]
    return orjson.dumps(
        [message.get("role"), _canonical_text(message.get("content")), calls],
        option=orjson.OPT_SORT_KEYS,
    )


def chain_digests(messages: list[dict]) -> list[str]:
    """One digest per message, of the conversation up to and including it: a conversation
    extends another when the other's last digest is among its own."""
    digests, last = [], b""
    for message in messages:
        last = hashlib.sha1(last + canonical(message)).digest()
        digests.append(last.hex())
    return digests


def session_keys(messages: list[dict]) -> tuple[str, list[str]]:
    """(this conversation's digest, the digests of the earlier conversations it may extend:
    those of its prompt that end with an assistant reply, longest last)."""
    digests = chain_digests(messages)
    earlier = [digests[i] for i, m in enumerate(messages[:-1]) if m.get("role") == "assistant"]
    return digests[-1], earlier


def turns(messages: list[dict]) -> int:
    """The model's replies in a conversation."""
    return sum(1 for m in messages if m.get("role") == "assistant")
