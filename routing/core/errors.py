"""Domain errors of the request path, each knowing its HTTP status and error shape."""

from __future__ import annotations

import math

import orjson


class GatewayError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.code
        self.headers = headers or {}

    def body(self) -> dict:
        return openai_error(self.message, self.type, self.param, self.code)


class BadRequestError(GatewayError):
    status = 400
    type = "invalid_request_error"


class PayloadTooLargeError(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class AuthenticationError(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class ModelNotAllowedError(GatewayError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class RateLimitedError(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class OverloadedError(GatewayError):
    status = 503
    type = "server_error"
    code = "overloaded"


class UpstreamUnreachableError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_unreachable"


class UpstreamTimeoutError(GatewayError):
    status = 504
    type = "upstream_error"
    code = "upstream_timeout"


class UpstreamRestingError(GatewayError):
    """Every target asked for a pause (429 or 503 with Retry-After) that is not over yet:
    answered by the gateway with the upstream's status, nothing sent."""

    type = "upstream_error"
    code = "upstream_resting"

    def __init__(self, status: int, message: str, seconds: float) -> None:
        super().__init__(message, headers={"Retry-After": str(max(math.ceil(seconds), 1))})
        self.status = status


class UpstreamStatusError(GatewayError):
    """The upstream answered with an error status; its body is passed on."""

    type = "upstream_error"

    def __init__(self, status: int, body: dict, headers: dict[str, str]) -> None:
        message = (
            (body.get("error") or {}).get("message")
            if isinstance(body.get("error"), dict)
            else None
        )
        super().__init__(message or f"upstream answered {status}", headers=headers)
        self.status = status
        self._body = body

    def body(self) -> dict:
        return self._body


def openai_error(
    message: str, type_: str, param: str | None = None, code: str | None = None
) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def upstream_error_body(status: int, content: bytes) -> dict:
    """An upstream error body as an OpenAI-style error: JSON passes, anything else is wrapped."""
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and "error" in parsed:
        error = parsed["error"]
        if isinstance(error, str):  # Ollama and some servers send {"error": "text"}
            return openai_error(error, "upstream_error", code=str(status))
        return parsed
    text = content.decode("utf-8", errors="replace").strip()[:2000]
    if isinstance(parsed, dict) and isinstance(parsed.get("detail"), str):
        text = parsed["detail"]
    return openai_error(text or f"upstream answered {status}", "upstream_error", code=str(status))
