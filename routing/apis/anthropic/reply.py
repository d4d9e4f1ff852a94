"""Pure conversion of OpenAI chat replies (whole or streamed) into Anthropic Messages replies.

A streamed reply becomes Messages events: `message_start`, then for each content block
(thinking, then text, then one per tool call) a `content_block_start`, its deltas and a
`content_block_stop`, with indices that follow the order the blocks opened in; then
`message_delta` (stop reason, token counts) and `message_stop`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import orjson

from routing.apis.anthropic.request import Asked
from routing.core.errors import UpstreamUnreachableError

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
TOOL_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
PING = {"type": "ping"}


def event(payload: dict) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def signature(thinking: str) -> str:
    """An opaque signature of a thinking block: clients keep it and send it back."""
    return "llmp-" + hashlib.sha256(thinking.encode()).hexdigest()[:48]


def tool_id(upstream_id: object, message_id: str, n: int) -> str:
    if isinstance(upstream_id, str) and TOOL_ID.fullmatch(upstream_id):
        return upstream_id
    return f"toolu_{message_id.removeprefix('msg_')[:24]}_{n}"


def tool_input(name: str, arguments: object) -> dict:
    """The arguments of a tool call as an object; text that is not one is the upstream's fault."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) else None
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamUnreachableError(
            f"The model called the tool {name!r} with arguments that are not a JSON object.",
            code="upstream_bad_response",
        )
    return parsed


def stop_reason(finish: str | None, matched: object, asked: Asked, calls: bool) -> tuple:
    """(stop_reason, stop_sequence). vLLM names the stop string it met in `stop_reason`."""
    if isinstance(matched, str) and matched in asked.stop_sequences:
        return "stop_sequence", matched
    reason = STOP_REASONS.get(finish or "stop", "end_turn")
    if calls and reason == "end_turn":  # some servers finish a tool call with "stop"
        reason = "tool_use"
    return reason, None


def usage_of(usage: dict | None) -> dict:
    """OpenAI usage as Anthropic's: cached prompt tokens are counted apart, as Anthropic does."""
    usage = usage or {}
    prompt = usage.get("prompt_tokens") or 0
    details = usage.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return {
        "input_tokens": max(prompt - cached, 0),
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def _reasoning(holder: dict) -> str:
    text = holder.get("reasoning_content") or holder.get("reasoning")
    return text if isinstance(text, str) else ""


def _content(holder: dict) -> str:
    content = holder.get("content")
    if isinstance(content, list):  # a few servers answer with parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def whole_message(data: dict, asked: Asked, message_id: str, usage: dict | None) -> dict:
    """A whole chat completion as a Messages reply."""
    choice = next((c for c in data.get("choices") or () if isinstance(c, dict)), {})
    holder = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content: list[dict] = []
    reasoning = _reasoning(holder)
    if asked.thinking and reasoning:
        shown = "" if asked.omit_thinking else reasoning
        content.append({"type": "thinking", "thinking": shown, "signature": signature(reasoning)})
    if text := _content(holder):
        content.append({"type": "text", "text": text})
    calls = [c for c in holder.get("tool_calls") or () if isinstance(c, dict)]
    for n, call in enumerate(calls):
        function = call.get("function") or {}
        name = function.get("name") or ""
        content.append(
            {
                "type": "tool_use",
                "id": tool_id(call.get("id"), message_id, n),
                "name": name,
                "input": tool_input(name, function.get("arguments")),
            }
        )
    reason, sequence = stop_reason(
        choice.get("finish_reason"), choice.get("stop_reason"), asked, bool(calls)
    )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": asked.model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_of(usage),
    }


@dataclass
class _Tool:
    index: int  # the block's index in the message
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class MessageStream:
    """Writes the Messages events of one streamed reply from (transformed) OpenAI chunks."""

    asked: Asked
    message_id: str
    started: bool = False
    blocks: int = 0  # blocks opened so far; the open one is blocks - 1
    open: str = ""  # "thinking", "text", "tool_use" or "" (none)
    thinking: list[str] = field(default_factory=list)
    tools: dict[int, _Tool] = field(default_factory=dict)  # by the upstream's tool index
    finish_reason: str | None = None
    matched: object = None  # vLLM's stop_reason: the stop string met

    def start(self, usage: dict | None = None) -> bytes:
        self.started = True
        message = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.asked.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_of(usage),
        }
        return event({"type": "message_start", "message": message})

    def _open(self, block: dict) -> bytes:
        out = self._close()
        self.open = block["type"]
        self.blocks += 1
        return out + event(
            {"type": "content_block_start", "index": self.blocks - 1, "content_block": block}
        )

    def _close(self) -> bytes:
        if not self.open:
            return b""
        out = b""
        if self.open == "thinking":
            sign = {"type": "signature_delta", "signature": signature("".join(self.thinking))}
            out = self._delta(sign)
        self.open = ""
        return out + event({"type": "content_block_stop", "index": self.blocks - 1})

    def _delta(self, delta: dict, index: int | None = None) -> bytes:
        at = self.blocks - 1 if index is None else index
        return event({"type": "content_block_delta", "index": at, "delta": delta})

    def chunk(self, chunk: dict) -> bytes:
        out = b"" if self.started else self.start(chunk.get("usage"))
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                out += self._choice(choice)
        return out

    def _choice(self, choice: dict) -> bytes:
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        out = b""
        reasoning = _reasoning(delta)
        if reasoning and self.asked.thinking:
            if self.open != "thinking":
                out += self._open({"type": "thinking", "thinking": "", "signature": ""})
            self.thinking.append(reasoning)
            if not self.asked.omit_thinking:
                out += self._delta({"type": "thinking_delta", "thinking": reasoning})
        if text := _content(delta):
            if self.open != "text":
                out += self._open({"type": "text", "text": ""})
            out += self._delta({"type": "text_delta", "text": text})
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                out += self._tool_call(call)
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
            self.matched = choice.get("stop_reason")
            self.check_tools()
        return out

    def _tool_call(self, call: dict) -> bytes:
        position = call.get("index", len(self.tools))
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        out = b""
        tool = self.tools.get(position)
        if tool is None:
            name = function.get("name") or ""
            block = {
                "type": "tool_use",
                "id": tool_id(call.get("id"), self.message_id, len(self.tools)),
                "name": name,
                "input": {},
            }
            out += self._open(block)
            tool = self.tools[position] = _Tool(self.blocks - 1, name)
        piece = function.get("arguments")
        if isinstance(piece, str) and piece:
            tool.arguments.append(piece)
            out += self._delta({"type": "input_json_delta", "partial_json": piece}, tool.index)
        return out

    def check_tools(self) -> None:
        """Every tool call's arguments, complete, must be a JSON object."""
        for tool in self.tools.values():
            tool_input(tool.name, "".join(tool.arguments))

    def end(self, usage: dict | None) -> bytes:
        """The closing events, with the token counts of the whole reply."""
        out = b"" if self.started else self.start()
        out += self._close()
        reason, sequence = stop_reason(
            self.finish_reason, self.matched, self.asked, bool(self.tools)
        )
        counts = usage_of(usage)
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
        }
        delta["usage"] = counts
        return out + event(delta) + event({"type": "message_stop"})


def error_event(kind: str, message: str) -> bytes:
    return event({"type": "error", "error": {"type": kind, "message": message}})
