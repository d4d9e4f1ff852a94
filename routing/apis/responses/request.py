"""Pure translation of a Responses request into a chat-completions body.

Passed on: the conversation (a stored one first, then `instructions` as the first system
message, then `input`), tools, `tool_choice`, `parallel_tool_calls`, `max_output_tokens`
(as `max_tokens`), `temperature`, `top_p`, `user`, `text.format` (as `response_format`),
`stream`. Accepted and kept on the response, never sent on (an upstream could refuse
them): `reasoning.summary`, `include`, `prompt_cache_key`, `client_metadata`,
`truncation`, `service_tier`, `metadata`, `store`, `safety_identifier`, and anything else.
`reasoning.effort` is added by the caller where the route says the upstream takes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.apis.responses.translate_items import (
    input_items,
    merge_leading_system,
    to_messages,
)
from routing.apis.responses.translate_tools import (
    ToolNames,
    translate_tool_choice,
    translate_tools,
)
from routing.core.errors import BadRequestError

SUMMARIES = ("auto", "concise", "detailed")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
UNSUPPORTED = {
    "background": "Background responses are not supported by this gateway.",
    "conversation": "Conversations are not supported by this gateway; use "
    "previous_response_id to continue a stored response.",
    "prompt": "Stored prompt templates are not supported by this gateway.",
}


@dataclass
class ResponsesRequest:
    """A checked Responses request body."""

    body: dict
    items: list[dict]  # `input` as a list of items
    previous_response_id: str | None = None
    store: bool = True
    stream: bool = False

    @property
    def reasoning(self) -> dict:
        reasoning = self.body.get("reasoning")
        return reasoning if isinstance(reasoning, dict) else {}

    @property
    def summary(self) -> bool:
        """Did the client ask for reasoning summaries?"""
        return self.reasoning.get("summary") in SUMMARIES

    @property
    def effort(self) -> str | None:
        effort = self.reasoning.get("effort")
        return effort if effort in EFFORTS else None

    def think(self) -> bool | None:
        """The request's own say on thinking: none suppresses it, a summary or an effort
        shows it (as a reasoning item); None leaves it to the route."""
        if self.effort == "none":
            return False
        if self.summary or self.effort is not None:
            return True
        return None


def _optional(body: dict, name: str, kind: type, what: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise BadRequestError(f"'{name}' must be {what}.", param=name)


def read_request(body: dict) -> ResponsesRequest:
    """Check the fields this gateway reads; refuse what it cannot do, with the field named."""
    for name, message in UNSUPPORTED.items():
        if body.get(name) not in (None, False):
            raise BadRequestError(message, param=name)
    if "input" not in body or body["input"] is None:
        raise BadRequestError("'input' is a required property.", param="input")
    _optional(body, "instructions", str, "a string")
    _optional(body, "previous_response_id", str, "a string")
    _optional(body, "store", bool, "a boolean")
    _optional(body, "stream", bool, "a boolean")
    _optional(body, "parallel_tool_calls", bool, "a boolean")
    _optional(body, "max_output_tokens", int, "a positive integer")
    _optional(body, "metadata", dict, "an object")
    for name in ("reasoning", "text"):
        _optional(body, name, dict, "an object")
    if body.get("max_output_tokens") is not None and body["max_output_tokens"] < 1:
        raise BadRequestError(
            "'max_output_tokens' must be a positive integer.", param="max_output_tokens"
        )
    return ResponsesRequest(
        body=body,
        items=input_items(body["input"]),
        previous_response_id=body.get("previous_response_id") or None,
        store=body.get("store") is not False,
        stream=body.get("stream") is True,
    )


def response_format(text: object) -> dict | None:
    """`text.format` as `response_format` (None for plain text)."""
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        name, schema = fmt.get("name"), fmt.get("schema")
        if not isinstance(name, str) or not isinstance(schema, dict):
            raise BadRequestError(
                "'text.format' of type json_schema needs a name and a schema.", param="text.format"
            )
        spec: dict = {"name": name, "schema": schema}
        for key, kinds in (("strict", bool), ("description", str)):
            if isinstance(fmt.get(key), kinds):
                spec[key] = fmt[key]
        return {"type": "json_schema", "json_schema": spec}
    raise BadRequestError(
        "'text.format.type' must be text, json_object or json_schema.",
        param="text.format.type",
    )


@dataclass
class Translation:
    chat: dict  # the chat-completions body
    names: ToolNames = field(default_factory=ToolNames)
    dropped: list[str] = field(default_factory=list)  # hosted tools left out


def chat_request(request: ResponsesRequest, history: list[dict]) -> Translation:
    """The chat-completions body for this request after a stored conversation (`history`:
    its input and output items, oldest first)."""
    body = request.body
    messages = to_messages([*history, *request.items], stored=len(history))
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    if not messages:
        raise BadRequestError("'input' holds nothing to send to a model.", param="input")
    chat: dict = {"messages": merge_leading_system(messages), "stream": request.stream}
    for name in ("model", "temperature", "top_p", "workflow_id"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if isinstance(body.get("user"), str):
        chat["user"] = body["user"]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if request.stream:
        chat["stream_options"] = {"include_usage": True}  # a Response always reports usage
    if (fmt := response_format(body.get("text"))) is not None:
        chat["response_format"] = fmt
    tools = translate_tools(body.get("tools"))
    if tools.chat:
        chat["tools"] = tools.chat
        choice = translate_tool_choice(body.get("tool_choice"))
        if choice is not None:
            chat["tool_choice"] = choice
        if isinstance(body.get("parallel_tool_calls"), bool):
            chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    return Translation(chat, tools.names, tools.dropped)
