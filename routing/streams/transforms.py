"""Pure text transforms for model replies, usable on whole texts and on streams.

Each stream transform has `feed(text) -> str` and `flush() -> str`. It holds back
only the few characters that could still be the start of a tag or a fence, so
nothing else is delayed; feeding a text in any number of pieces gives the same
result as feeding it whole.
"""

from __future__ import annotations

import re

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
NO_THINK = "/no_think"


def _partial_suffix(text: str, token: str) -> int:
    """Length of the longest end of `text` that is a proper beginning of `token`."""
    for size in range(min(len(token) - 1, len(text)), 0, -1):
        if token.startswith(text[-size:]):
            return size
    return 0


class ThinkStripper:
    """Separates <think>…</think> blocks from the answer.

    `feed` returns the visible answer; the thinking text is collected in
    `take_thinking()` so a caller can move it to `reasoning_content`. A closing
    tag without an opening one at the very start of the reply (models whose
    template opens the block in the prompt) is removed too.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._thinking: list[str] = []
        self._inside = False
        self._at_start = True

    def feed(self, text: str) -> str:
        buf = self._pending + text
        self._pending = ""
        out: list[str] = []
        while buf:
            if self._inside:
                end = buf.find(CLOSE_TAG)
                if end < 0:
                    keep = _partial_suffix(buf, CLOSE_TAG)
                    self._thinking.append(buf[: len(buf) - keep])
                    self._pending = buf[len(buf) - keep :]
                    break
                self._thinking.append(buf[:end])
                buf = buf[end + len(CLOSE_TAG) :]
                self._inside = False
                continue
            if self._at_start:
                buf, held = self._drop_orphan_close(buf, out)
                if held:
                    break
            start = buf.find(OPEN_TAG)
            if start < 0:
                keep = _partial_suffix(buf, OPEN_TAG)
                self._emit(buf[: len(buf) - keep], out)
                self._pending = buf[len(buf) - keep :]
                break
            self._emit(buf[:start], out)
            buf = buf[start + len(OPEN_TAG) :]
            self._inside = True
        return "".join(out)

    def _drop_orphan_close(self, buf: str, out: list[str]) -> tuple[str, bool]:
        """At the start of the reply: drop a leading `</think>`; hold a partial one."""
        body = buf.lstrip()
        if not body:
            out.append(buf)
            return "", True
        lead = buf[: len(buf) - len(body)]
        if body.startswith(CLOSE_TAG):
            out.append(lead)
            self._at_start = False
            return body[len(CLOSE_TAG) :], False
        if CLOSE_TAG.startswith(body):
            out.append(lead)
            self._pending = body
            return "", True
        return buf, False

    def _emit(self, text: str, out: list[str]) -> None:
        if text:
            out.append(text)
            if self._at_start and text.strip():
                self._at_start = False

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        if self._inside:
            self._thinking.append(rest)
            return ""
        return rest

    def take_thinking(self) -> str:
        text = "".join(self._thinking)
        self._thinking.clear()
        return text


_FENCE_OPEN = re.compile(r"\s*```(?i:json)[ \t]*\r?\n")
_FENCE_TAIL = re.compile(r"\s*(?:```\s*|`{1,2})?\Z")  # what could still be the closing fence
_FENCED_REPLY = re.compile(r"\s*```(?i:json)[ \t]*\r?\n(.*?)\s*```\s*", re.DOTALL)


class JsonFenceStripper:
    """Turns a reply that is one fenced ```json block into the bare JSON.

    While the start of the reply could still be an opening fence it is held;
    inside the fence, only trailing whitespace and a possible closing fence are.
    """

    def __init__(self) -> None:
        self._state = "detect"  # then "inside" (it is a fence) or "plain" (it is not)
        self._pending = ""

    def feed(self, text: str) -> str:
        if self._state == "plain":
            return text
        buf = self._pending + text
        self._pending = ""
        if self._state == "inside":
            return self._inside(buf)
        match = _FENCE_OPEN.match(buf)
        if match:
            self._state = "inside"
            return self._inside(buf[match.end() :])
        if _could_open(buf.lstrip()):
            self._pending = buf
            return ""
        self._state = "plain"
        return buf

    def _inside(self, buf: str) -> str:
        cut = _FENCE_TAIL.search(buf).start()
        self._pending = buf[cut:]
        return buf[:cut]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        if self._state == "inside" and "```" in rest:
            return ""
        return rest


def _could_open(head: str) -> bool:
    if len(head) <= 7:
        return "```json".startswith(head.lower())
    return head[:7].lower() == "```json" and not head[7:].strip(" \t\r")


def strip_think(text: str) -> tuple[str, str]:
    """Whole-text version: (answer, thinking)."""
    stripper = ThinkStripper()
    answer = stripper.feed(text) + stripper.flush()
    return answer, stripper.take_thinking()


def strip_json_fence(text: str) -> str:
    """Whole-text version: the JSON inside a reply that is exactly one fenced block."""
    match = _FENCED_REPLY.fullmatch(text)
    return match.group(1) if match else text


def append_no_think(content: object) -> object:
    """Add /no_think to a message content (a string or a list of content parts)."""
    if isinstance(content, str):
        return content if content.rstrip().endswith(NO_THINK) else f"{content} {NO_THINK}"
    if isinstance(content, list):
        parts = list(content)
        for i in range(len(parts) - 1, -1, -1):
            part = parts[i]
            if isinstance(part, dict) and part.get("type") == "text":
                parts[i] = {**part, "text": append_no_think(part.get("text", ""))}
                return parts
        return [*parts, {"type": "text", "text": NO_THINK}]
    return content


def add_no_think_to_messages(messages: list) -> list:
    """Return messages with /no_think on the last user message."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, dict) and message.get("role") == "user":
            updated = {**message, "content": append_no_think(message.get("content", ""))}
            return [*messages[:i], updated, *messages[i + 1 :]]
    return messages


def add_no_think_to_prompt(prompt: object) -> object:
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return [append_no_think(p) for p in prompt]
    return append_no_think(prompt) if isinstance(prompt, str) else prompt
