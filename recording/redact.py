"""Pure redaction of secrets before anything is stored or exported.

Two nets: fields whose name says they hold a secret, and the known secret values of
the request (its Authorization, the upstream's key) wherever they appear as text.
"""

from __future__ import annotations

import re

import orjson

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "cookie",
        "x-gateway-key",
        "openai-api-key",
    }
)
SECRET_FIELD = re.compile(
    r"^(api[_-]?key|apikey|authorization|password|passwd|secret|client[_-]?secret|"
    r"access[_-]?token|refresh[_-]?token|token|auth[_-]?token|bearer|private[_-]?key)$",
    re.IGNORECASE,
)
MIN_SECRET_LENGTH = 8  # shorter values would blank out ordinary words
# A quick look for secret-named fields, before paying for a parse.
SECRET_FIELD_IN_JSON = re.compile(
    rb'"(api[_-]?key|apikey|authorization|password|passwd|secret|client[_-]?secret|'
    rb'access[_-]?token|refresh[_-]?token|token|auth[_-]?token|bearer|private[_-]?key)"\s*:',
    re.IGNORECASE,
)


def secret_values(headers: list[tuple[str, str]], *extra: str) -> list[str]:
    """The secrets a request carries: header values and their bearer tokens."""
    found = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and name.lower() != "cookie":
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token)
    found.extend(extra)
    return sorted({s for s in found if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def secret_field_values(raw: bytes) -> list[str]:
    """The values of a JSON body's secret-named fields, to be blanked wherever they reappear
    (an upstream may echo the request, a model may repeat it)."""
    if not SECRET_FIELD_IN_JSON.search(raw):
        return []
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    found: list[str] = []
    pending = [document]
    while pending:  # a loop, not recursion: bodies may nest as deep as the parser allows
        value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and isinstance(key, str) and SECRET_FIELD.match(key):
                    found.append(item)
                else:
                    pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)
    return found


def redact_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_json(value: object, secrets: list[str]) -> object:
    if isinstance(value, dict):
        return {
            k: REDACTED
            if isinstance(k, str) and SECRET_FIELD.match(k) and v
            else redact_json(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def redact_headers(headers: list[tuple[str, str]], secrets: list[str]) -> dict[str, str]:
    return {
        name.lower(): REDACTED if name.lower() in SECRET_HEADERS else redact_text(value, secrets)
        for name, value in headers
    }


def redact_body(raw: bytes, secrets: list[str]) -> bytes:
    """A request body with secret fields and known secret values blanked."""
    if not SECRET_FIELD_IN_JSON.search(raw) and not any(s.encode() in raw for s in secrets):
        return raw
    try:
        return orjson.dumps(redact_json(orjson.loads(raw), secrets))
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
        # Not JSON, or nested too deep to rebuild: blank the values as text instead.
        known = secret_values([], *secrets, *secret_field_values(raw))
        return redact_text(raw.decode("utf-8", "replace"), known).encode()
