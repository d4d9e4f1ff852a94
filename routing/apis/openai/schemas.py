"""OpenAPI descriptions of the request bodies (documentation and fuzzing; bodies pass through)."""

from __future__ import annotations

_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "null"}]},
    },
}
_COMMON = {
    "model": {"type": "string"},
    "stream": {"type": "boolean"},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1},
    "max_tokens": {"type": "integer", "minimum": 1},
    "n": {"type": "integer", "minimum": 1},
    "stop": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "workflow_id": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
}


def _body(schema: dict) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


CHAT_REQUEST = _body(
    {
        "type": "object",
        "required": ["messages"],
        "properties": {
            **_COMMON,
            "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
            "tools": {"type": "array"},
            "response_format": {"type": "object"},
            "stream_options": {"type": "object"},
        },
    }
)
COMPLETION_REQUEST = _body(
    {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            **_COMMON,
            "prompt": {"anyOf": [{"type": "string"}, {"type": "array"}]},
        },
    }
)
