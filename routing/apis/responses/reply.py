"""Pure construction of Response objects and their output items from chat completions.

Output items, in order: a `reasoning` item when the upstream reasoned (`reasoning_content`,
`reasoning`, or `<think>` text moved there by the route's transform), a `message` item
(`output_text` parts), one `function_call` item per tool call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.apis.responses.translate_tools import ToolNames

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
LEADING = "\r\n"  # dropped from the start of an answer (what models write after </think>)


@dataclass
class Draft:
    """One Response in the making: its id, the request it echoes, its tools' names."""

    id: str  # resp_<hex>
    created_at: int
    model: str  # the name the client asked for
    request: dict  # the Responses body as the client sent it
    names: ToolNames = field(default_factory=ToolNames)
    summary: bool = False  # reasoning summaries asked for

    def item_id(self, prefix: str, index: int) -> str:
        return f"{prefix}_{self.id.removeprefix('resp_')}_{index}"

    def frame(
        self,
        status: str,
        output: list[dict],
        usage: dict | None = None,
        incomplete: str | None = None,
        error: dict | None = None,
    ) -> dict:
        """The whole Response object."""
        body = self.request
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        text = body.get("text") if isinstance(body.get("text"), dict) else {}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": {"reason": incomplete} if incomplete else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "model": self.model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "store": body.get("store") is not False,
            "temperature": body.get("temperature"),
            "text": {"format": {"type": "text"}, **text},
            "tool_choice": body.get("tool_choice") or "auto",
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p"),
            "truncation": body.get("truncation") or "disabled",
            "usage": usage,
            "user": body.get("user"),
        }


def count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def response_usage(usage: dict | None) -> dict:
    """Chat-completions usage as a Response's."""
    usage = usage or {}
    prompt, done = count(usage.get("prompt_tokens")), count(usage.get("completion_tokens"))
    details = [usage.get(f"{k}_tokens_details") for k in ("prompt", "completion")]
    prompt_details, done_details = (d if isinstance(d, dict) else {} for d in details)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": count(prompt_details.get("cached_tokens")),
            "cache_write_tokens": 0,
        },
        "output_tokens": done,
        "output_tokens_details": {"reasoning_tokens": count(done_details.get("reasoning_tokens"))},
        "total_tokens": prompt + done,
    }


def outcome(finish_reason: str | None) -> tuple[str, str | None]:
    """(status, incomplete reason) for a chat finish_reason."""
    reason = INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None
    return ("incomplete", reason) if reason else ("completed", None)


def reasoning_item(item_id: str, text: str, summary: bool, status: str = "completed") -> dict:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if summary else [],
        "content": [{"type": "reasoning_text", "text": text}],
        "status": status,
    }


def text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, parts: list[dict], status: str = "completed") -> dict:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": parts,
    }


def call_item(
    item_id: str, call_id: str, flat: str, arguments: str, names: ToolNames, status: str
) -> dict:
    return {"id": item_id, "call_id": call_id, **names.call_item(flat, arguments), "status": status}


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def reasoning_of(holder: dict) -> str:
    """Reasoning text as upstreams send it: `reasoning_content` (vLLM, DeepSeek, the think
    transform) or `reasoning` (Ollama, newer vLLM)."""
    for key in ("reasoning_content", "reasoning"):
        if isinstance(holder.get(key), str) and holder[key]:
            return holder[key]
    return ""


def first_choice(data: dict) -> dict:
    choices = data.get("choices")
    return (
        next((c for c in choices if isinstance(c, dict)), {}) if isinstance(choices, list) else {}
    )


def output_items(draft: Draft, data: dict) -> list[dict]:
    """The output items of a whole chat completion (its first choice)."""
    choice = first_choice(data)
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    items: list[dict] = []
    if thinking := reasoning_of(message):
        items.append(reasoning_item(draft.item_id("rs", 0), thinking, draft.summary))
    content = message.get("content") if isinstance(message.get("content"), str) else ""
    content = content.lstrip(LEADING)
    calls = [c for c in message.get("tool_calls") or () if isinstance(c, dict)]
    parts = [text_part(content)] if content else []
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    if parts or not calls:
        items.append(message_item(draft.item_id("msg", len(items)), parts or [text_part("")]))
    for call in calls:
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        index = len(items)
        items.append(
            call_item(
                draft.item_id("fc", index),
                text_of(call.get("id")) or draft.item_id("call", index),
                text_of(function.get("name")),
                text_of(function.get("arguments")),
                draft.names,
                "completed",
            )
        )
    return items


def whole_response(draft: Draft, data: dict, usage: dict | None) -> dict:
    """A whole chat completion as a Response."""
    choice = first_choice(data)
    status, incomplete = outcome(choice.get("finish_reason"))
    return draft.frame(status, output_items(draft, data), response_usage(usage), incomplete)
