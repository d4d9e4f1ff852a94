"""Errors the server itself answers (refusals, limits, unknown paths) in the shape of the API
the path belongs to, by path prefix; OpenAI's elsewhere. A new API with its own shape adds
its prefix here."""

from __future__ import annotations

from collections.abc import Callable

from routing.apis.anthropic.errors import anthropic_error
from routing.core.errors import openai_error

# What OpenAI's codes and types are called in Anthropic's errors.
ANTHROPIC_BY_CODE = {
    "request_too_large": "request_too_large",
    "not_found": "not_found_error",
    "too_many_connections": "overloaded_error",
}
ANTHROPIC_BY_KIND = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "rate_limit_error": "rate_limit_error",
}


def openai_shape(message: str, code: str, kind: str) -> dict:
    return openai_error(message, kind, None, code)


def ollama_shape(message: str, code: str, kind: str) -> dict:
    return {"error": message}


def anthropic_shape(message: str, code: str, kind: str) -> dict:
    return anthropic_error(
        message, ANTHROPIC_BY_CODE.get(code) or ANTHROPIC_BY_KIND.get(kind, "api_error")
    )


ERROR_SHAPES: list[tuple[str, Callable[[str, str, str], dict]]] = [
    ("/api/", ollama_shape),
    ("/v1/messages", anthropic_shape),
]


def error_body(path: str, message: str, code: str, kind: str | None = None) -> dict:
    """An error in the shape of the API the path belongs to. `kind` is OpenAI's error type
    (by default server_error for code server_error, else invalid_request_error)."""
    if kind is None:
        kind = "server_error" if code == "server_error" else "invalid_request_error"
    for prefix, shape in ERROR_SHAPES:
        if path.startswith(prefix):
            return shape(message, code, kind)
    return openai_shape(message, code, kind)
