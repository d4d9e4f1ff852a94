"""Pure builders of training records: which reply, in which format, in which split.

- chatml: OpenAI `messages` (the gateway's own format), tools kept as they were.
- sharegpt: `{"conversations": [{"from": "system|human|gpt|function_call|observation",
  "value": …}]}`, as LLaMA-Factory reads it; tools as a JSON string.
- alpaca: `{"instruction", "input", "output"}` for single-turn exchanges only; it cannot
  hold tool calls or several turns, so those are skipped with a reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass

from recording.curation import content_text

FORMATS = ("chatml", "sharegpt", "alpaca")
CHOICES = ("reviewed", "original", "edited", "relabelled")
MULTI_TURN = "multi-turn"
TOOL_CALLS = "with tool calls"
TRAIN, VALIDATION = "train", "validation"
SYSTEM_ROLES = ("system", "developer")
TOOL_ROLES = ("tool", "function")


@dataclass(frozen=True)
class Candidate:
    """A reply that could be exported: the original, the reviewer's edit or an alternative."""

    message: dict
    model: str
    completion_tokens: int | None
    key: object = None  # the alternative's id


def pick_reply(
    choose: str,
    chosen: str,
    original: Candidate,
    edited: Candidate | None,
    alternatives: list[Candidate],
    chosen_alternative: object = None,
) -> tuple[Candidate, bool]:
    """(the reply to export, whether it fell back to the original for want of the kind asked).

    `choose` is one of CHOICES: "reviewed" follows the reviewer's pick (`chosen`:
    original, edited or alternative); "relabelled" takes the picked alternative, else
    the newest one (`alternatives` come oldest first).
    """
    picked = next((a for a in alternatives if a.key == chosen_alternative), None)
    if choose == "reviewed":
        kind = chosen
    else:
        kind = {"relabelled": "alternative"}.get(choose, choose)
        picked = picked or (alternatives[-1] if alternatives else None)
    if kind == "edited":
        found = edited
    elif kind == "alternative":
        found = picked
    else:
        return original, False
    return (found, False) if found is not None else (original, True)


def _call(call: dict) -> dict:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    with contextlib.suppress(ValueError):  # not JSON: kept as the model wrote it
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
    return {"name": function.get("name", ""), "arguments": arguments}


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def chatml_record(messages: list[dict], tools: list | None, meta: dict) -> dict:
    record = {"messages": messages, **meta}
    if tools:
        record["tools"] = tools
    return record


def sharegpt_turns(messages: list[dict]) -> list[dict]:
    turns: list[dict] = []
    results: list[str] = []  # consecutive tool results become one observation

    def close_results() -> None:
        if results:
            value = results[0] if len(results) == 1 else _dumps(results)
            turns.append({"from": "observation", "value": value})
            results.clear()

    for message in messages:
        role, text = message.get("role"), content_text(message.get("content"))
        if role in TOOL_ROLES:
            results.append(text)
            continue
        close_results()
        if role in SYSTEM_ROLES:
            turns.append({"from": "system", "value": text})
        elif role == "assistant" and message.get("tool_calls"):
            calls = [_call(c) for c in message["tool_calls"] if isinstance(c, dict)]
            value = _dumps(calls[0] if len(calls) == 1 else calls)
            turns.append({"from": "function_call", "value": value})
        else:
            turns.append({"from": "gpt" if role == "assistant" else "human", "value": text})
    close_results()
    return turns


def sharegpt_record(messages: list[dict], tools: list | None) -> dict:
    record: dict = {"conversations": sharegpt_turns(messages)}
    if tools:
        record["tools"] = _dumps(tools)
    return record


def alpaca_record(messages: list[dict]) -> tuple[dict | None, str | None]:
    """(record, None), or (None, why it cannot be one)."""
    if any(m.get("tool_calls") or m.get("role") in TOOL_ROLES for m in messages):
        return None, TOOL_CALLS
    system = [m for m in messages if m.get("role") in SYSTEM_ROLES]
    turns = [m for m in messages if m.get("role") not in SYSTEM_ROLES]
    if [m.get("role") for m in turns] != ["user", "assistant"]:
        return None, MULTI_TURN
    record = {
        "instruction": content_text(turns[0].get("content")),
        "input": "",
        "output": content_text(turns[1].get("content")),
    }
    if system:
        record["system"] = "\n\n".join(content_text(m.get("content")) for m in system)
    return record, None


def build_record(
    fmt: str, messages: list[dict], tools: list | None, meta: dict
) -> tuple[dict | None, str | None]:
    """The record in format `fmt`, or (None, the reason it was skipped)."""
    if fmt == "sharegpt":
        return sharegpt_record(messages, tools), None
    if fmt == "alpaca":
        return alpaca_record(messages)
    return chatml_record(messages, tools, meta), None


def split_of(key: str, seed: int, ratio: float) -> str:
    """TRAIN or VALIDATION for a record, from a hash of its key and the seed.

    The same key always lands in the same file, whatever else is exported with it, so
    a re-export after more traffic never moves a validation record into training.
    """
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return TRAIN if int.from_bytes(digest[:8]) / 2**64 < ratio else VALIDATION
