"""Pure translation of Responses tools into chat-completions tools, and of calls back.

Function tools keep their name. A `namespace` group (Codex sends one) is flattened: each of
its tools is offered as `<namespace>__<name>`, and a call of that name comes back as a call
of `<name>` in `<namespace>`. A `custom` (free-form) tool is offered as a function taking
one string, `input`. Hosted tools (web search, file search, code interpreter, computer use,
...) run on OpenAI's side only: they are left out, and named so the caller can log it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import orjson

from routing.core.errors import BadRequestError

JOIN = "__"  # OpenAI's chat API takes [a-zA-Z0-9_-] in tool names: no dots
CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The tool's free-form input."}},
    "required": ["input"],
}
EMPTY_PARAMETERS = {"type": "object", "properties": {}}
TOOL_CHOICE_MODES = ("auto", "none", "required")


def flat_name(name: str, namespace: str | None) -> str:
    return f"{namespace}{JOIN}{name}" if namespace else name


@dataclass(frozen=True)
class ToolNames:
    """What a chat tool call's name is on the client's side."""

    namespaced: Mapping[str, tuple[str, str]] = field(
        default_factory=lambda: MappingProxyType({})
    )  # flat name -> (namespace, name)
    custom: frozenset[str] = frozenset()  # flat names of free-form tools

    def call_item(self, flat: str, arguments: str) -> dict:
        """The fields of the output item for a call of `flat` with these arguments."""
        namespace, name = self.namespaced.get(flat, ("", flat))
        item: dict
        if flat in self.custom:
            item = {"type": "custom_tool_call", "name": name, "input": custom_input(arguments)}
        else:
            item = {"type": "function_call", "name": name, "arguments": arguments}
        if namespace:
            item["namespace"] = namespace
        return item


def custom_input(arguments: str) -> str:
    """The free-form input inside a call's JSON arguments (the text itself if not JSON)."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return arguments
    value = parsed.get("input") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else arguments


def _function(tool: dict, where: str, namespace: str = "") -> dict:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequestError(f"'{where}.name' must be a non-empty string.", param=f"{where}.name")
    function: dict = {"name": flat_name(name, namespace)}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    if tool.get("type") == "custom":
        function["parameters"] = CUSTOM_PARAMETERS
    else:
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise BadRequestError(
                f"'{where}.parameters' must be a JSON schema object.", param=f"{where}.parameters"
            )
        function["parameters"] = parameters or EMPTY_PARAMETERS
        if isinstance(tool.get("strict"), bool):
            function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


@dataclass
class Tools:
    chat: list[dict] = field(default_factory=list)
    names: ToolNames = field(default_factory=ToolNames)
    dropped: list[str] = field(default_factory=list)  # hosted tool types left out


def translate_tools(tools: object) -> Tools:
    if tools is None:
        return Tools()
    if not isinstance(tools, list):
        raise BadRequestError("'tools' must be an array.", param="tools")
    out = Tools()
    namespaced: dict[str, tuple[str, str]] = {}
    custom: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise BadRequestError(f"'{where}' must be an object with a type.", param=where)
        kind = tool["type"]
        if kind in ("function", "custom"):
            out.chat.append(_function(tool, where))
            if kind == "custom":
                custom.add(tool["name"])
        elif kind == "namespace":
            namespace = tool.get("name")
            inner = tool.get("tools")
            if not isinstance(namespace, str) or not namespace or not isinstance(inner, list):
                raise BadRequestError(
                    f"'{where}' needs a name and a list of tools.", param=f"{where}.tools"
                )
            for j, member in enumerate(inner):
                here = f"{where}.tools[{j}]"
                if not isinstance(member, dict) or member.get("type") not in ("function", "custom"):
                    raise BadRequestError(
                        f"'{here}' must be a function or custom tool.", param=here
                    )
                chat = _function(member, here, namespace)
                flat = chat["function"]["name"]
                out.chat.append(chat)
                namespaced[flat] = (namespace, member["name"])
                if member["type"] == "custom":
                    custom.add(flat)
        else:
            out.dropped.append(kind)
    out.names = ToolNames(MappingProxyType(namespaced), frozenset(custom))
    return out


def translate_tool_choice(choice: object) -> object | None:
    """`tool_choice` in chat-completions form (None: leave it out)."""
    if choice is None or choice in TOOL_CHOICE_MODES:
        return choice
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise BadRequestError(
            "'tool_choice' must be auto, none, required or an object with a type.",
            param="tool_choice",
        )
    kind = choice["type"]
    if kind in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError("'tool_choice.name' must be a string.", param="tool_choice.name")
        namespace = choice.get("namespace") if isinstance(choice.get("namespace"), str) else ""
        return {"type": "function", "function": {"name": flat_name(name, namespace)}}
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        return mode if mode in ("auto", "required") else "auto"
    return "auto"  # a hosted tool: it is not offered, the model chooses among the rest
