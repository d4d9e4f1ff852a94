"""Pure conversion of an Anthropic Messages request into an OpenAI chat completions body."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from routing.apis.anthropic.translate_blocks import assistant_message, text_of, user_messages
from routing.core.errors import BadRequestError

ROLES = ("user", "assistant", "system")


@dataclass
class Asked:
    """What the client asked for that shapes the reply (the body itself goes upstream)."""

    model: str
    stream: bool
    thinking: bool | None  # True: show thinking blocks; False: disabled; None: not asked
    omit_thinking: bool = False  # `display: "omitted"`: blocks come back without their text
    stop_sequences: list[str] = field(default_factory=list)
    dropped_tools: list[str] = field(default_factory=list)  # server tools no upstream can run


def convert_messages(system: object, messages: object) -> list[dict]:
    out = [{"role": "system", "content": text_of(system, "system")}] if system else []
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("messages: must be a non-empty list.", param="messages")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise BadRequestError(
                f"{where}.role: must be one of {', '.join(ROLES)}.", param=f"{where}.role"
            )
        content = message.get("content")
        if message["role"] == "user":
            out.extend(user_messages(content, f"{where}.content"))
        elif message["role"] == "assistant":
            out.append(assistant_message(content, f"{where}.content"))
        else:  # system turns in the middle of a conversation (Claude Code sends them)
            out.append({"role": "system", "content": text_of(content, f"{where}.content")})
    return out


def convert_tools(tools: object) -> tuple[list[dict], list[str]]:
    """Client tools as function tools; server tools (no input schema) are left out by name."""
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise BadRequestError("tools: must be a list.", param="tools")
    out, dropped = [], []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise BadRequestError(f"tools[{i}]: a tool needs a name.", param=f"tools[{i}]")
        schema = tool.get("input_schema")
        if tool.get("type") not in (None, "custom") or not isinstance(schema, dict):
            dropped.append(tool["name"])
            continue
        function = {"name": tool["name"], "parameters": schema}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out, dropped


def convert_tool_choice(choice: object, names: set[str]) -> tuple[object, bool]:
    """OpenAI's tool_choice, and whether parallel calls are off."""
    if not isinstance(choice, dict):
        raise BadRequestError("tool_choice: must be an object.", param="tool_choice")
    kind = choice.get("type")
    serial = bool(choice.get("disable_parallel_tool_use"))
    if kind == "auto":
        return "auto", serial
    if kind == "any":
        return "required", serial
    if kind == "none":
        return "none", serial
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or name not in names:
            raise BadRequestError(
                "tool_choice.name: must name one of the tools.", param="tool_choice.name"
            )
        return {"type": "function", "function": {"name": name}}, serial
    raise BadRequestError(
        "tool_choice.type: must be auto, any, tool or none.", param="tool_choice.type"
    )


def thinking_asked(body: dict) -> tuple[bool | None, bool]:
    """(show thinking?, omit its text?) from `thinking`: enabled or adaptive, or disabled."""
    thinking = body.get("thinking")
    if thinking is None:
        return None, False
    if not isinstance(thinking, dict):
        raise BadRequestError("thinking: must be an object.", param="thinking")
    kind = thinking.get("type")
    if kind == "disabled":
        return False, False
    if kind in ("enabled", "adaptive"):
        return True, thinking.get("display") == "omitted"
    raise BadRequestError(
        "thinking.type: must be enabled, adaptive or disabled.", param="thinking.type"
    )


def _sampling(body: dict, out: dict) -> None:
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise BadRequestError("max_tokens: Field required", param="max_tokens")
    out["max_tokens"] = max_tokens
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            out[name] = body[name]
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise BadRequestError(
                "stop_sequences: must be a list of strings.", param="stop_sequences"
            )
        if stops:
            out["stop"] = stops
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]


def chat_request(body: dict) -> tuple[dict, Asked]:
    """A Messages body as an OpenAI chat body, and what the reply must look like.

    Accepted and not passed on: `cache_control`, `context_management`, `output_config`,
    the thinking budget, `service_tier`, `container`, `mcp_servers` and unknown fields.
    """
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model: Field required", param="model")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequestError("stream: must be a boolean.", param="stream")
    out: dict = {
        "model": model,
        "messages": convert_messages(body.get("system"), body.get("messages")),
        "stream": stream,
    }
    _sampling(body, out)
    tools, dropped = convert_tools(body.get("tools"))
    if tools:
        out["tools"] = tools
        if body.get("tool_choice") is not None:
            names = {t["function"]["name"] for t in tools}
            out["tool_choice"], serial = convert_tool_choice(body["tool_choice"], names)
            if serial:
                out["parallel_tool_calls"] = False
    if "workflow_id" in body:
        out["workflow_id"] = body["workflow_id"]
    thinking, omitted = thinking_asked(body)
    asked = Asked(model, stream, thinking, omitted, out.get("stop", []), dropped)
    return out, asked


def with_model(body: dict, model: str) -> bytes:
    """The client's own body for an upstream that speaks Messages, under the route's model."""
    outgoing = {k: v for k, v in body.items() if k != "workflow_id"}
    outgoing["model"] = model
    return orjson.dumps(outgoing)
