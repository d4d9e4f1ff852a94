"""Pure checks of embeddings requests, and Ollama's (/api/embed, /api/embeddings) turned into
OpenAI's /v1/embeddings body."""

from __future__ import annotations

from routing.core.errors import BadRequestError

FORMATS = ("float", "base64")


def is_token_ids(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    )


def input_count(value: object) -> int:
    """How many vectors `input` asks for; a 400 naming `input` when it is not one of OpenAI's
    four shapes (a text, texts, token ids, lists of token ids)."""
    if isinstance(value, str):
        if not value:
            raise BadRequestError("'input' must not be an empty string.", param="input")
        return 1
    if not isinstance(value, list) or not value:
        raise BadRequestError(
            "'input' must be a non-empty string, a non-empty list of strings, a list of token "
            "ids or a list of lists of token ids.",
            param="input",
        )
    if all(isinstance(item, str) for item in value):
        if any(not item for item in value):
            raise BadRequestError("'input' must not hold empty strings.", param="input")
        return len(value)
    if is_token_ids(value):
        return 1
    if all(is_token_ids(item) for item in value):
        return len(value)
    raise BadRequestError(
        "'input' mixes types: use strings, or token ids, or lists of token ids.", param="input"
    )


# No embedding model has more; a larger number would only make an upstream allocate it.
MAX_DIMENSIONS = 65_536


def check_embeddings_body(body: dict) -> int:
    """OpenAI's rules for /v1/embeddings; returns the number of inputs."""
    if "input" not in body or body["input"] is None:
        raise BadRequestError("'input' is a required property.", param="input")
    count = input_count(body["input"])
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in FORMATS:
        raise BadRequestError(
            "'encoding_format' must be 'float' or 'base64'.", param="encoding_format"
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        not isinstance(dimensions, int)
        or isinstance(dimensions, bool)
        or not 1 <= dimensions <= MAX_DIMENSIONS
    ):
        raise BadRequestError(
            f"'dimensions' must be a whole number from 1 to {MAX_DIMENSIONS}.", param="dimensions"
        )
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise BadRequestError("'user' must be a string.", param="user")
    if body.get("stream"):
        raise BadRequestError("Embeddings are not streamed.", param="stream")
    return count


def requested_format(body: dict) -> str:
    """What the client gets: what it asked for, else OpenAI's default, floats."""
    return body.get("encoding_format") or "float"


def embed_request(body: dict) -> dict:
    """Ollama's /api/embed (`input`: a text or texts) as an OpenAI body asking for floats.

    `truncate`, `options` and `keep_alive` have no OpenAI counterpart and are not sent:
    servers truncate to their context (or refuse) as they are configured to.
    """
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequestError("model is required", param="model")
    value = body.get("input")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise BadRequestError("input must be a string or a list of strings", param="input")
    outgoing = {"model": body["model"], "input": value, "encoding_format": "float"}
    if body.get("dimensions") is not None:
        outgoing["dimensions"] = body["dimensions"]
    if "workflow_id" in body:
        outgoing["workflow_id"] = body["workflow_id"]
    return outgoing


def legacy_request(body: dict) -> dict:
    """Ollama's older /api/embeddings (`prompt`: one text) as an OpenAI body."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequestError("model is required", param="model")
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequestError("prompt must be a string", param="prompt")
    outgoing = {"model": body["model"], "input": prompt, "encoding_format": "float"}
    if "workflow_id" in body:
        outgoing["workflow_id"] = body["workflow_id"]
    return outgoing
