"""Pure translation of Responses input items into chat-completions messages.

Items: messages (roles user, assistant, system, developer; content a string or parts),
`function_call` / `custom_tool_call` (an assistant's tool call), `function_call_output` /
`custom_tool_call_output` (a `tool` message), `reasoning` (never sent back as text),
`item_reference` (an item of the stored conversation). Items of hosted tools are left out.
"""

from __future__ import annotations

import orjson

from routing.apis.responses.translate_tools import flat_name
from routing.core.errors import BadRequestError

TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")
ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
CALLS = ("function_call", "custom_tool_call")
OUTPUTS = ("function_call_output", "custom_tool_call_output")
PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "custom_tool_call": "ctc",
    "function_call_output": "fco",
    "custom_tool_call_output": "ctco",
    "reasoning": "rs",
}


def input_items(value: object) -> list[dict]:
    """`input` as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise BadRequestError("'input' must be a string or an array of items.", param="input")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequestError(f"'input[{i}]' must be an object.", param=f"input[{i}]")
        kind = item.get("type", "message" if "role" in item else None)
        if not isinstance(kind, str):
            raise BadRequestError(f"'input[{i}]' needs a type.", param=f"input[{i}].type")
    return value


def normalised(items: list[dict], base: str) -> list[dict]:
    """The items as stored and listed: typed, with ids and statuses, content as parts."""
    out = []
    for i, item in enumerate(items):
        item = {**item, "type": item.get("type", "message")}
        if item["type"] == "message":
            item.setdefault("status", "completed")
            if isinstance(item.get("content"), str):
                kind = "output_text" if item.get("role") == "assistant" else "input_text"
                part = {"type": kind, "text": item["content"]}
                if kind == "output_text":
                    part["annotations"] = []
                item["content"] = [part]
        elif item["type"] in OUTPUTS:
            item.setdefault("status", "completed")
        if not item.get("id") and item["type"] in PREFIXES:
            item["id"] = f"{PREFIXES[item['type']]}_{base}_in{i}"  # outputs: _{index}
        out.append(item)
    return out


def _image(part: dict, where: str) -> dict:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise BadRequestError(
            f"'{where}' needs an image_url (a URL or a data: URL); file ids need OpenAI's "
            "file store, which the upstreams behind this gateway do not have.",
            param=where,
        )
    image: dict = {"url": url}
    if part.get("detail") in ("low", "high", "auto"):
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


def content_parts(content: object, where: str) -> list[dict]:
    """Message content as chat parts (text and images)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if content is None:
        return []
    if not isinstance(content, list):
        raise BadRequestError(f"'{where}' must be a string or an array of parts.", param=where)
    parts = []
    for j, part in enumerate(content):
        here = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in TEXT_PARTS and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append({"type": "text", "text": part["refusal"]})
        elif kind == "input_image":
            parts.append(_image(part, here))
        else:
            raise BadRequestError(
                f"'{here}' is not a content part this gateway can send on "
                "(input_text, output_text, refusal or input_image).",
                param=here,
            )
    return parts


def as_text(parts: list[dict]) -> str:
    return "\n".join(p["text"] for p in parts if p["type"] == "text")


def _message(item: dict, where: str) -> dict:
    role = ROLES.get(item["role"]) if isinstance(item.get("role"), str) else None
    if role is None:
        raise BadRequestError(
            f"'{where}.role' must be user, assistant, system or developer.", param=f"{where}.role"
        )
    parts = content_parts(item.get("content"), f"{where}.content")
    if role == "user" and any(p["type"] != "text" for p in parts):
        return {"role": role, "content": parts}
    return {"role": role, "content": as_text(parts)}


def _call(item: dict, where: str) -> dict:
    call_id, name = item.get("call_id"), item.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str) or not name:
        raise BadRequestError(f"'{where}' needs a call_id and a name.", param=where)
    namespace = item.get("namespace") if isinstance(item.get("namespace"), str) else ""
    if item["type"] == "custom_tool_call":
        arguments = orjson.dumps({"input": str(item.get("input", ""))}).decode()
    else:
        arguments = item.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments).decode()
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": flat_name(name, namespace), "arguments": arguments},
    }


def _output(item: dict, where: str) -> dict:
    call_id = item.get("call_id")
    if not isinstance(call_id, str):
        raise BadRequestError(f"'{where}.call_id' must be a string.", param=f"{where}.call_id")
    output = item.get("output", "")
    if isinstance(output, list):
        parts = [p for p in output if isinstance(p, dict)]
        output = "\n".join(
            p["text"] if isinstance(p.get("text"), str) else f"[{p.get('type', 'part')}]"
            for p in parts
        )
    elif not isinstance(output, str):
        output = orjson.dumps(output).decode()
    return {"role": "tool", "tool_call_id": call_id, "content": output}


def resolve(item: dict, known: dict[str, dict], where: str) -> dict:
    """An item_reference as the item it names (from the stored conversation or this input)."""
    if item.get("type") != "item_reference":
        return item
    found = known.get(item["id"]) if isinstance(item.get("id"), str) else None
    if found is None:
        raise BadRequestError(
            f"'{where}' names an item this conversation does not have.", param=where
        )
    return found


def to_messages(items: list[dict], stored: int = 0) -> list[dict]:
    """Chat messages for these items (the first `stored` from a stored conversation);
    consecutive calls join one assistant message."""
    messages: list[dict] = []
    known = {
        item["id"]: item
        for item in items
        if isinstance(item.get("id"), str) and item.get("type") != "item_reference"
    }
    for i, item in enumerate(items):
        here = f"input[{i - stored}]" if i >= stored else f"previous_response_id[{i}]"
        item = resolve(item, known, here)
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, here))
        elif kind in CALLS:
            last = messages[-1] if messages else None
            if last is None or last["role"] != "assistant":
                last = {"role": "assistant", "content": None}
                messages.append(last)
            last.setdefault("tool_calls", []).append(_call(item, here))
        elif kind in OUTPUTS:
            messages.append(_output(item, here))
        # reasoning is not sent back as text; hosted tools' items have no chat equivalent
    return messages


def merge_leading_system(messages: list[dict]) -> list[dict]:
    """One system message at the start: several (instructions, then Codex's developer
    messages) break chat templates that take a single one."""
    lead = 0
    while lead < len(messages) and messages[lead]["role"] == "system":
        lead += 1
    if lead < 2:
        return messages
    text = "\n\n".join(m["content"] for m in messages[:lead] if m["content"])
    return [{"role": "system", "content": text}, *messages[lead:]]
