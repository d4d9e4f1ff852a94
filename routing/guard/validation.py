"""Pure checks of incoming request bodies; each failure names the offending field."""

from __future__ import annotations

import orjson

from routing.core.errors import BadRequestError
from routing.streams.chunks import CHAT

MAX_DEPTH = 128  # orjson writes at most 254 levels: a deeper body could not be sent on
# Real model names are far shorter; a longer one would only make every route pattern's
# (linear, but per-character) matching cost more on the event loop.
MAX_MODEL_LENGTH = 256


def parse_json_object(raw: bytes) -> dict:
    if not raw.strip():
        raise BadRequestError("The request body is empty; expected a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.")
    # Counting brackets is cheap; only bodies with many of them are walked.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and nesting_depth(body) > MAX_DEPTH:
        raise BadRequestError(f"The request body nests deeper than {MAX_DEPTH} levels.")
    return body


def nesting_depth(value: object) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


def require_model(body: dict, default_model: str) -> str:
    model = body.get("model")
    if model is None or model == "":
        if default_model:
            return default_model
        raise BadRequestError("You must provide a model parameter.", param="model")
    if not isinstance(model, str):
        raise BadRequestError("'model' must be a string.", param="model")
    if len(model) > MAX_MODEL_LENGTH:
        raise BadRequestError(
            f"'model' is longer than {MAX_MODEL_LENGTH} characters.", param="model"
        )
    return model


ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# OpenAI's bounds: (field, lowest, highest); None: no bound on that side.
NUMBER_BOUNDS = (
    ("temperature", 0, 2),
    ("top_p", 0, 1),
    ("frequency_penalty", -2, 2),
    ("presence_penalty", -2, 2),
)
POSITIVE_INTEGERS = ("max_tokens", "max_completion_tokens", "n")


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_messages(messages: object) -> None:
    if messages is None:
        raise BadRequestError("'messages' is a required property.", param="messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("'messages' must be a non-empty array.", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequestError(f"'messages[{i}]' must be an object.", param=f"messages[{i}]")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise BadRequestError(
                f"'messages[{i}].role' must be one of {', '.join(sorted(ROLES))}.",
                param=f"messages[{i}].role",
            )


def check_sampling(body: dict) -> None:
    """OpenAI's bounds on the sampling fields, checked before anything goes upstream."""
    for field, low, high in NUMBER_BOUNDS:
        value = body.get(field)
        if value is not None and (not is_number(value) or not low <= value <= high):
            raise BadRequestError(f"'{field}' must be a number from {low} to {high}.", param=field)
    for field in POSITIVE_INTEGERS:
        value = body.get(field)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise BadRequestError(f"'{field}' must be a positive integer.", param=field)
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise BadRequestError("'stream' must be a boolean.", param="stream")


def check_openai_body(body: dict, kind: str) -> None:
    """The fields without which an upstream cannot answer, and OpenAI's bounds."""
    if kind == CHAT:
        check_messages(body.get("messages"))
    elif "prompt" not in body or body["prompt"] is None:
        raise BadRequestError("'prompt' is a required property.", param="prompt")
    check_sampling(body)
