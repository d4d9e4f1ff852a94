"""Errors of the Responses API beyond the shared ones (all in OpenAI's error shape)."""

from __future__ import annotations

from routing.core.errors import GatewayError


class ResponseNotFoundError(GatewayError):
    """Unknown, deleted, expired, or another caller's: all look the same from outside."""

    status = 404
    type = "invalid_request_error"
    code = "not_found"

    def __init__(self, response_id: str, param: str | None = None) -> None:
        what = "Previous response" if param == "previous_response_id" else "Response"
        super().__init__(
            f"{what} with id {response_id[:100]!r} not found.",
            param=param,
            code="previous_response_not_found" if param else None,
        )
