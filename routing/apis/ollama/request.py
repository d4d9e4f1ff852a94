"""Pure conversion of Ollama requests (/api/chat, /api/generate) into OpenAI request bodies."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

import orjson

from routing.core.errors import BadRequestError
from routing.streams.chunks import CHAT, TEXT

# Ollama option -> OpenAI field. repeat_penalty is multiplicative like vLLM's and
# llama.cpp's repetition_penalty, not additive like frequency_penalty.
OPTION_FIELDS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "repeat_penalty": "repetition_penalty",
    "min_p": "min_p",
}
NOT_OPENAI = {"top_k", "repetition_penalty", "min_p"}  # refused by OpenAI's own API
STRICT_HOSTS = {"api.openai.com"}
IMAGE_TYPES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}


def image_part(data: object) -> dict:
    """An Ollama image (base64, or a data URL) as an OpenAI image part."""
    if not isinstance(data, str) or not data:
        raise BadRequestError("images must be base64 strings", param="images")
    if data.startswith("data:"):
        return {"type": "image_url", "image_url": {"url": data}}
    try:
        head = base64.b64decode(data[:16] + "=" * (-len(data[:16]) % 4))
    except (binascii.Error, ValueError):
        raise BadRequestError("an image is not valid base64", param="images") from None
    mime = next((m for magic, m in IMAGE_TYPES.items() if head.startswith(magic)), "image/png")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def _content(text: object, images: object) -> object:
    if not images:
        return text if isinstance(text, str) else ""
    if not isinstance(images, list):
        raise BadRequestError("images must be a list", param="images")
    parts = [{"type": "text", "text": text}] if isinstance(text, str) and text else []
    return parts + [image_part(i) for i in images]


def _function(call: object) -> dict:
    """A tool call's function, checked: an object with a name, arguments an object (or
    JSON text)."""
    function = call.get("function") if isinstance(call, dict) else None
    if (
        not isinstance(function, dict)
        or not isinstance(function.get("name", ""), str)
        or not isinstance(function.get("arguments", {}), dict | str)
    ):
        raise BadRequestError(
            "each tool call needs a function object with a name and object arguments",
            param="messages",
        )
    return function


def _tool_calls(calls: object, ids: list[str]) -> list[dict]:
    """Ollama tool calls (arguments as objects) as OpenAI's (arguments as JSON text)."""
    if not isinstance(calls, list):
        raise BadRequestError("tool_calls must be a list", param="messages")
    out = []
    for call in calls:
        function = _function(call)
        arguments = function.get("arguments", {})
        call_id = call.get("id") if call.get("id") else f"call_{len(ids)}"
        ids.append(call_id)
        out.append(
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": function.get("name", ""),
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else orjson.dumps(arguments).decode(),
                },
            }
        )
    return out


def messages_to_openai(messages: object) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("messages must be a non-empty list", param="messages")
    out: list[dict] = []
    ids: list[str] = []  # tool call ids, given in order, answered in order
    answered = 0
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequestError("each message needs a role", param="messages")
        converted = {
            "role": message["role"],
            "content": _content(message.get("content"), message.get("images")),
        }
        if message.get("tool_calls"):
            converted["tool_calls"] = _tool_calls(message["tool_calls"], ids)
        if message["role"] == "tool":
            converted["tool_call_id"] = message.get("tool_call_id") or (
                ids[answered] if answered < len(ids) else f"call_{answered}"
            )
            answered += 1
        out.append(converted)
    return out


def response_format(fmt: object) -> dict | None:
    if fmt in (None, ""):
        return None
    if fmt == "json":
        return {"type": "json_object"}
    if isinstance(fmt, dict):
        return {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": fmt, "strict": True},
        }
    raise BadRequestError('format must be "json" or a JSON schema', param="format")


def options_to_openai(options: object) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise BadRequestError("options must be an object", param="options")
    out = {
        field: options[name]
        for name, field in OPTION_FIELDS.items()
        if options.get(name) is not None
    }
    predict = options.get("num_predict")
    if isinstance(predict, int) and predict > 0:
        out["max_tokens"] = predict
    return out


def _common(body: dict) -> dict:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model is required", param="model")
    stream = body.get("stream", True)  # Ollama streams unless told not to
    if not isinstance(stream, bool):
        raise BadRequestError("stream must be a boolean", param="stream")
    out = {"model": model, "stream": stream, **options_to_openai(body.get("options"))}
    if (fmt := response_format(body.get("format"))) is not None:
        out["response_format"] = fmt
    if "workflow_id" in body:
        out["workflow_id"] = body["workflow_id"]
    return out


def chat_request(body: dict) -> dict:
    """An /api/chat body as an OpenAI chat completions body."""
    out = _common(body)
    out["messages"] = messages_to_openai(body.get("messages"))
    if body.get("tools"):
        out["tools"] = body["tools"]
    return out


def generate_request(body: dict) -> tuple[dict, str]:
    """An /api/generate body as an OpenAI body, and which endpoint kind takes it.

    A prompt becomes a chat (with `system` first); `suffix` (fill-in-the-middle) or
    `raw` needs the plain completions endpoint, which takes both as they are.
    """
    out = _common(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequestError("prompt is required", param="prompt")
    if body.get("suffix") or body.get("raw"):
        out["prompt"] = prompt
        if body.get("suffix"):
            out["suffix"] = body["suffix"]
        return out, TEXT
    messages = [{"role": "system", "content": body["system"]}] if body.get("system") else []
    messages.append({"role": "user", "content": _content(prompt, body.get("images"))})
    out["messages"] = messages
    return out, CHAT


def think_setting(body: dict) -> bool | None:
    """`think`: True (or a level such as "high") shows thinking, False hides it."""
    think = body.get("think")
    if think is None:
        return None
    return think is not False and think != ""


def strip_unsupported(body: dict, base_url: str) -> None:
    """Drop the sampling fields OpenAI's own API refuses when the upstream is OpenAI."""
    if urlsplit(base_url).hostname in STRICT_HOSTS:
        for key in NOT_OPENAI:
            body.pop(key, None)
