"""OpenAPI description of the Responses request body (documentation and fuzzing)."""

from __future__ import annotations

RESPONSE_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["input"],
                    "properties": {
                        "model": {"type": "string"},
                        "input": {"anyOf": [{"type": "string"}, {"type": "array"}]},
                        "instructions": {"type": "string"},
                        "stream": {"type": "boolean"},
                        "store": {"type": "boolean"},
                        "previous_response_id": {"type": "string"},
                        "tools": {"type": "array"},
                        "tool_choice": {"anyOf": [{"type": "string"}, {"type": "object"}]},
                        "parallel_tool_calls": {"type": "boolean"},
                        "max_output_tokens": {"type": "integer", "minimum": 1},
                        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
                        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
                        "text": {"type": "object"},
                        "reasoning": {"type": "object"},
                        "metadata": {"type": "object"},
                        "workflow_id": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                    },
                }
            }
        },
    }
}
