"""Pure conversion of OpenAI replies (whole or streamed) into Ollama's reply shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

DONE_REASONS = {"length": "length", "load": "load"}


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def tool_calls_to_ollama(calls: list[dict]) -> list[dict]:
    """OpenAI tool calls (arguments as JSON text) as Ollama's (arguments as an object)."""
    out = []
    for call in calls:
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            parsed = {"raw": arguments}
        out.append(
            {
                "function": {
                    "name": function.get("name", ""),
                    "arguments": parsed if isinstance(parsed, dict) else {},
                }
            }
        )
    return out


@dataclass
class Timings:
    """Nanosecond figures of the final line, from perf_counter marks (seconds)."""

    started: float
    first_token: float | None
    finished: float
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def fields(self, done_reason: str) -> dict:
        first = self.first_token if self.first_token is not None else self.finished
        return {
            "done": True,
            "done_reason": DONE_REASONS.get(done_reason, "stop"),
            "total_duration": int((self.finished - self.started) * 1e9),
            "load_duration": 0,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": int((first - self.started) * 1e9),
            "eval_count": self.completion_tokens,
            "eval_duration": int((self.finished - first) * 1e9),
        }


@dataclass
class OllamaReply:
    """Writes Ollama lines for one reply; `chat` picks message lines over response lines."""

    model: str  # the name the client asked for
    chat: bool
    tool_calls: list[dict] = field(default_factory=list)

    def _line(self, text: str, thinking: str = "", calls: list[dict] | None = None) -> dict:
        line: dict = {"model": self.model, "created_at": now_rfc3339()}
        if self.chat:
            message: dict = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if calls:
                message["tool_calls"] = calls
            line["message"] = message
        else:
            line["response"] = text
            if thinking:
                line["thinking"] = thinking
        return line

    def chunk_line(self, chunk: dict) -> dict | None:
        """The line for one (transformed) OpenAI stream chunk; None if it says nothing."""
        text, thinking = [], []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else choice
            text.append(delta.get("content") or delta.get("text") or "")
            thinking.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
        if not any(text) and not any(thinking):
            return None
        line = self._line("".join(text), "".join(thinking))
        line["done"] = False
        return line

    def tool_call_line(self, calls: list[dict]) -> dict:
        line = self._line("", calls=tool_calls_to_ollama(calls))
        line["done"] = False
        return line

    def final_line(self, done_reason: str, timings: Timings) -> dict:
        return {**self._line(""), **timings.fields(done_reason)}

    def whole(self, data: dict, timings: Timings) -> dict:
        """A whole OpenAI reply as one Ollama reply."""
        choice = next((c for c in data.get("choices") or () if isinstance(c, dict)), {})
        holder = choice.get("message") if isinstance(choice.get("message"), dict) else choice
        text = holder.get("content") or holder.get("text") or ""
        thinking = holder.get("reasoning_content") or holder.get("reasoning") or ""
        calls = tool_calls_to_ollama(holder.get("tool_calls") or [])
        return {
            **self._line(text, thinking, calls),
            **timings.fields(choice.get("finish_reason") or "stop"),
        }


def error_line(message: str) -> bytes:
    return orjson.dumps({"error": message}) + b"\n"


def ndjson(line: dict) -> bytes:
    return orjson.dumps(line) + b"\n"
