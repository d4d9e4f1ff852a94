"""Pure conversion of Anthropic content blocks into OpenAI chat messages and parts."""

from __future__ import annotations

import orjson

from routing.core.errors import BadRequestError

TEXT_SEPARATOR = "\n\n"


def text_of(blocks: object, where: str) -> str:
    """A string or a list of text blocks as one text (`cache_control` and the like ignored)."""
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        raise BadRequestError(f"{where}: expected a string or a list of text blocks.", param=where)
    texts = []
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "text":
            raise BadRequestError(f"{where}: only text blocks are allowed here.", param=where)
        if not isinstance(block.get("text"), str):
            raise BadRequestError(f"{where}: a text block needs its text.", param=where)
        texts.append(block["text"])
    return TEXT_SEPARATOR.join(texts)


def image_part(block: dict, where: str) -> dict:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequestError(f"{where}: an image needs a source.", param=where)
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        media = source.get("media_type") or "image/png"
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{source['data']}"}}
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise BadRequestError(
        f"{where}: image sources of type {source.get('type')!r} are not supported here; "
        "send base64 data or a URL.",
        param=where,
    )


def documenttext_of(block: dict, where: str) -> str:
    """A text document as text; anything else (a PDF) is refused rather than lost."""
    source = block.get("source")
    source = source if isinstance(source, dict) else {}
    title = block.get("title")
    head = f"{title}\n\n" if isinstance(title, str) and title else ""
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return head + source["data"]
    if source.get("type") == "content":
        return head + text_of(source.get("content"), where)
    raise BadRequestError(
        f"{where}: only text documents are supported here (not {source.get('type')!r}).",
        param=where,
    )


def _tool_result(block: dict, where: str) -> tuple[dict, list[dict]]:
    """A tool_result as an OpenAI tool message, and the images it carried (for the user turn)."""
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise BadRequestError(f"{where}: a tool_result needs its tool_use_id.", param=where)
    content = block.get("content", "")
    texts: list[str] = []
    images: list[dict] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for i, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image":
                images.append(image_part(part, f"{where}.content[{i}]"))
            elif kind == "document":
                texts.append(documenttext_of(part, f"{where}.content[{i}]"))
            else:
                raise BadRequestError(
                    f"{where}.content[{i}]: expected a text or image block.", param=where
                )
    elif content is not None:
        raise BadRequestError(f"{where}: content must be a string or a list.", param=where)
    text = TEXT_SEPARATOR.join(texts)
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _tool_call(block: dict, where: str) -> dict:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str) or not name:
        raise BadRequestError(f"{where}: a tool_use needs an id and a name.", param=where)
    arguments = block.get("input", {})
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": orjson.dumps(arguments).decode()},
    }


def _parts(content: object, where: str) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise BadRequestError(f"{where}: content must be a string or a list.", param=where)
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise BadRequestError(f"{where}[{i}]: each block needs a type.", param=where)
    return content


def _joined(parts: list[dict]) -> object:
    """Text parts as one string (what every chat template takes); a list when images are in."""
    if all(p["type"] == "text" for p in parts):
        return TEXT_SEPARATOR.join(p["text"] for p in parts)
    return parts


def user_messages(content: object, where: str) -> list[dict]:
    """A user turn: one tool message per tool_result first, then the rest of the turn."""
    tools: list[dict] = []
    parts: list[dict] = []
    for i, block in enumerate(_parts(content, where)):
        at, kind = f"{where}[{i}]", block["type"]
        if kind == "text":
            parts.append({"type": "text", "text": text_of([block], at)})
        elif kind == "image":
            parts.append(image_part(block, at))
        elif kind == "document":
            parts.append({"type": "text", "text": documenttext_of(block, at)})
        elif kind == "tool_result":
            message, images = _tool_result(block, at)
            tools.append(message)
            parts.extend(images)
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            raise BadRequestError(f"{at}: blocks of type {kind!r} are not supported.", param=at)
    return [*tools, {"role": "user", "content": _joined(parts)}] if parts else tools


def assistant_message(content: object, where: str) -> dict:
    """An assistant turn: its text, and its tool_use blocks as tool calls (thinking left out)."""
    texts: list[str] = []
    calls: list[dict] = []
    for i, block in enumerate(_parts(content, where)):
        at, kind = f"{where}[{i}]", block["type"]
        if kind == "text":
            texts.append(text_of([block], at))
        elif kind == "tool_use":
            calls.append(_tool_call(block, at))
        elif kind in ("thinking", "redacted_thinking"):
            continue  # the model's own notes: not part of the prompt it is shown again
        elif kind in ("server_tool_use", "web_search_tool_result"):
            continue  # results of tools only Anthropic runs
        else:
            raise BadRequestError(f"{at}: blocks of type {kind!r} are not supported.", param=at)
    message: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message
