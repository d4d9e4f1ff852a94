"""Pure scrubbing of personal data and secrets from training text, before export.

Best effort, tuned to miss little and to leave ordinary text alone: e-mail addresses
become [email], phone numbers [phone], and key-like strings [key] (OpenAI-style
`sk-…` keys, bearer tokens, provider key shapes, and long hex or base64 runs that mix
letters and digits). Dates, versions and plain numbers stay.
"""

from __future__ import annotations

import re

from routing.core.redaction import redact_json

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
KEYS = re.compile(
    r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic (sk-ant-…), Stripe-like
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWT
)
HEX = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32,}(?![A-Za-z0-9])")
BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_-])")
PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}"  # international: +44 20 7946 0958
    r"|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}"  # North American: (555) 123-4567
    r"|0\d{2,4}[\s/-]\d{5,8}"  # national with a trunk 0: 030 1234567
    r")(?![\w])"
)
MIN_PHONE_DIGITS = 8
KEEP_KEYS = frozenset({"role", "type", "id", "tool_call_id", "name"})  # structure, not text


def _looks_random(token: str) -> bool:
    """A base64 run worth hiding: letters of both cases and digits (not a word or a path)."""
    return (
        any(c.isdigit() for c in token)
        and any(c.islower() for c in token)
        and any(c.isupper() for c in token)
    )


def _phone(match: re.Match) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return "[phone]" if digits >= MIN_PHONE_DIGITS else match.group()


def scrub_text(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = BEARER.sub(r"\1[key]", text)
    text = KEYS.sub("[key]", text)
    text = HEX.sub("[key]", text)
    text = BASE64.sub(lambda m: "[key]" if _looks_random(m.group()) else m.group(), text)
    return PHONE.sub(_phone, text)


def scrub(value: object) -> object:
    """A copy of a JSON value with every text scrubbed (ids, roles and names kept)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in KEEP_KEYS else scrub(v) for k, v in value.items()}
    return value


def scrub_messages(messages: list[dict]) -> list[dict]:
    """Secrets redacted (the log's own redaction), then personal data and key shapes."""
    return scrub(redact_json(messages, []))
