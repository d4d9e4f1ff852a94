"""Pure: what holds a secret, and the one redaction applied to whatever is stored or shown
(the request log, training data, exports, attempts, an upstream's last error, console lines,
cache rows).

Nets, from the surest to the widest:
- headers whose name says key, token, secret, auth, password, cookie or session;
- fields whose name ends in key, token, secret, password or credentials, whatever their
  value (a string, a number, a list of them), also inside JSON held in a string (tool-call
  arguments) and in text that is not valid JSON (`"password": "…"`, `api_key=…`);
- gateway keys (llmp_…) wherever they appear;
- the known secret values of the request (its secret headers, the upstream's key, the
  values of its secret fields) wherever they appear as text.
"""

from __future__ import annotations

import functools
import re

import orjson

REDACTED = "[redacted]"
GATEWAY_KEY_PREFIX = "llmp_"
GATEWAY_KEY = re.compile(r"llmp_[A-Za-z0-9_-]{16,}")
MIN_SECRET_LENGTH = 8  # shorter values would blank out ordinary words

HEADER_WORDS = ("key", "token", "secret", "auth", "password", "cookie", "session", "credential")
NAME_ENDINGS = ("key", "token", "secret", "password", "passwd", "passphrase", "credentials")
WHOLE_NAMES = frozenset({"authorization", "auth", "bearer", "cookie", "credential"})
# Names that end like a secret's but hold none (sent by common clients).
ORDINARY_NAMES = frozenset({"promptcachekey", "cachekey", "idempotencykey"})

# A secret-looking name right before its value: only then are the closer looks below worth
# it ("max_tokens": or "completion_tokens": in every body and reply are not). Found with
# plain searches, which cost a few microseconds where a case-blind regex costs fifty.
HINT_WORDS = (
    "key", "token", "secret", "password", "passwd", "passphrase", "credential",
    "credentials", "auth", "authorization", "bearer", "cookie",
)  # fmt: skip
AFTER_HINT = re.compile(r"""\\*["']?\s*[:=]""")
AFTER_HINT_BYTES = re.compile(rb"""\\*["']?\s*[:=]""")
# A name that may be a secret's (is_secret_name decides): only those are matched, so that
# an ordinary pair never swallows the start of the next one.
NAME = (
    r"(?P<name>[\w.-]{0,60}?(?:key|token|secret|password|passwd|passphrase|credentials)"
    r"|authorization|auth|bearer|cookie|credential)"
)
# "name": value, a JSON pair, also inside JSON text held in JSON (its quotes escaped once
# or more: \"name\": \"value\"), and name=value.
QUOTED_PAIR = re.compile(
    r"""(?i)(?P<q>\\*["'])""" + NAME + r"""(?P=q)\s*[:=]\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|(?P=q)(?:(?!(?P=q)).){0,4096}?(?P=q)|[^\s,;&}\]"'\\]+)"""
)
BARE_PAIR = re.compile(
    r"""(?i)(?<![\w.-])""" + NAME + r"""=(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&"'\\]+)"""
)


@functools.lru_cache(maxsize=4096)  # the same few names come in every body
def is_secret_name(name: str) -> bool:
    """A field whose name says it holds a secret (`api_key`, `secretKey`, `db_password`)."""
    squashed = re.sub(r"[\W_]", "", name).lower()
    if squashed in ORDINARY_NAMES:
        return False
    return squashed in WHOLE_NAMES or squashed.endswith(NAME_ENDINGS)


def may_hold_a_secret_pair(text: str | bytes) -> bool:
    """Does a secret-looking name stand right before a `:` or `=` somewhere in `text`?"""
    lowered = text.lower()
    binary = isinstance(text, bytes)
    after = AFTER_HINT_BYTES if binary else AFTER_HINT
    for word in HINT_WORDS:
        word = word.encode() if binary else word
        start = lowered.find(word)
        while start != -1:
            end = start + len(word)
            if after.match(lowered, end):
                return True
            start = lowered.find(word, end)
    return False


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in HEADER_WORDS)


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _hides_a_secret(value: object) -> bool:
    """A value under a secret name worth blanking: a scalar, or a list of them (a dict is
    looked into instead: a tool's parameter schema may be called `api_key`)."""
    if isinstance(value, list):
        return bool(value) and all(_scalar(v) for v in value)
    return _scalar(value) and value != ""


def _text_of(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if _scalar(item)]


def secret_values(headers: list[tuple[str, str]], *extra: str) -> list[str]:
    """The secrets a request carries: secret header values and their bearer tokens, and
    `extra` (the upstream's key, field values); longest first."""
    found = []
    for name, value in headers:
        if is_secret_header(name) and name.lower() != "cookie":
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token)
    found.extend(extra)
    return sorted({s for s in found if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def secret_field_values(raw: bytes) -> list[str]:
    """The values of a JSON body's secret-named fields, to be blanked wherever they reappear
    (an upstream may echo the request, a model may repeat it)."""
    if not may_hold_a_secret_pair(raw):
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
                if isinstance(key, str) and is_secret_name(key) and _hides_a_secret(item):
                    found.extend(_text_of(item))
                else:
                    pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)
    return found


def _blank_pair(match: re.Match) -> str:
    if not is_secret_name(match["name"]):
        return match.group()
    value, quote = match["value"], match.groupdict().get("q") or ""
    if not (quote and value.startswith(quote)):
        quote = value[0] if value[0] in "\"'" else ""
    return match.group()[: match.start("value") - match.start()] + quote + REDACTED + quote


def redact_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if GATEWAY_KEY_PREFIX in text:
        text = GATEWAY_KEY.sub(REDACTED, text)
    if may_hold_a_secret_pair(text):
        text = QUOTED_PAIR.sub(_blank_pair, text)
        text = BARE_PAIR.sub(_blank_pair, text)
    return text


def redact_json(value: object, secrets: list[str]) -> object:
    if isinstance(value, dict):
        return {
            k: REDACTED
            if isinstance(k, str) and is_secret_name(k) and _hides_a_secret(v)
            else redact_json(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(v, secrets) for v in value]
    if isinstance(value, str):
        return _redact_string(value, secrets)
    return value


def _redact_string(text: str, secrets: list[str]) -> str:
    """A string, and the JSON it may hold (tool-call arguments): blanked inside, kept JSON."""
    if text[:1] in ("{", "[") and may_hold_a_secret_pair(text):
        try:
            inner = orjson.loads(text)
        except orjson.JSONDecodeError:
            return redact_text(text, secrets)
        if isinstance(inner, dict | list):
            redacted = redact_json(inner, secrets)
            return text if redacted == inner else orjson.dumps(redacted).decode()
    return redact_text(text, secrets)


def redact_headers(headers: list[tuple[str, str]], secrets: list[str]) -> dict[str, str]:
    return {
        name.lower(): REDACTED if is_secret_header(name) else redact_text(value, secrets)
        for name, value in headers
    }


def redact_body(raw: bytes, secrets: list[str]) -> bytes:
    """A request body with secret fields and known secret values blanked."""
    if (
        not may_hold_a_secret_pair(raw)
        and GATEWAY_KEY_PREFIX.encode() not in raw
        and not any(s.encode() in raw for s in secrets)
    ):
        return raw
    try:
        return orjson.dumps(redact_json(orjson.loads(raw), secrets))
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
        # Not JSON, or nested too deep to rebuild: blank the values as text instead.
        known = secret_values([], *secrets, *secret_field_values(raw))
        return redact_text(raw.decode("utf-8", "replace"), known).encode()
