"""Pure checks of incoming request bodies; each failure names the offending field."""

from __future__ import annotations

import orjson

from routing.chunks import CHAT
from routing.errors import BadRequestError


def parse_json_object(raw: bytes) -> dict:
    if not raw.strip():
        raise BadRequestError("The request body is empty; expected a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.")
    return body


def require_model(body: dict, default_model: str) -> str:
    model = body.get("model")
    if model is None or model == "":
        if default_model:
            return default_model
        raise BadRequestError("You must provide a model parameter.", param="model")
    if not isinstance(model, str):
        raise BadRequestError("'model' must be a string.", param="model")
    return model


def check_openai_body(body: dict, kind: str) -> None:
    """The fields without which an upstream cannot answer."""
    if kind == CHAT:
        messages = body.get("messages")
        if messages is None:
            raise BadRequestError("'messages' is a required property.", param="messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequestError("'messages' must be a non-empty array.", param="messages")
    elif "prompt" not in body or body["prompt"] is None:
        raise BadRequestError("'prompt' is a required property.", param="prompt")
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise BadRequestError("'stream' must be a boolean.", param="stream")
