"""Pure curation rules: which captured reply is not worth training on, and why.

A workflow's rules become a frozen `Rules`; `compile_rules` checks and compiles its
patterns once (RE2, case-insensitive: linear time whatever a reviewer types), and
`fired_rule` names the first rule a reply breaks, or None. No Django here: the
`curate` command and the admin feed rows in and write the verdicts back.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

DEFAULT_PATTERNS = (
    r"I'?m sorry,? but I (?:can(?:not|'?t)|am unable|won'?t)",
    r"\bAs an AI\b",
    r"\bI (?:cannot|can'?t) (?:help|assist) with (?:that|this)\b",
    r"^\s*(?:error|exception)\b",
)
NEW, APPROVED, REJECTED = "new", "approved", "rejected"
RULE_LIMIT = 100  # characters of a rule's label kept on the row
TAG_LIMIT = 40

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.log_errors = False


class RuleError(ValueError):
    """A rule that cannot be used (a pattern RE2 does not accept), with a message for people."""


@dataclass(frozen=True)
class Rules:
    """One workflow's settings; None bounds are not checked."""

    reject_cut_off: bool = True
    reject_empty: bool = True
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    min_chars: int | None = None
    max_chars: int | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class CompiledRules:
    rules: Rules
    patterns: tuple[tuple[str, object], ...]  # (source, compiled RE2)


def split_patterns(text: str) -> tuple[str, ...]:
    """One pattern per line; blank lines are ignored."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def compile_pattern(pattern: str) -> object:
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise RuleError(f"invalid pattern {pattern!r}: {reason}") from None


def compile_rules(rules: Rules) -> CompiledRules:
    return CompiledRules(rules, tuple((p, compile_pattern(p)) for p in rules.patterns))


def content_text(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def call_text(message: dict) -> str:
    """Names and arguments of a message's tool calls, as one text."""
    parts = []
    for call in message.get("tool_calls") or ():
        function = (call.get("function") or {}) if isinstance(call, dict) else {}
        parts += [str(function.get("name") or ""), str(function.get("arguments") or "")]
    return "".join(parts)


def final_reply(messages: list[dict]) -> dict:
    """The assistant reply a conversation ends with ({} when it ends otherwise)."""
    last = messages[-1] if messages else {}
    return last if isinstance(last, dict) and last.get("role") == "assistant" else {}


def _bound_rule(size: int, low: int | None, high: int | None, unit: str) -> str | None:
    if low is not None and size < low:
        return f"under {low} {unit}"
    if high is not None and size > high:
        return f"over {high} {unit}"
    return None


def fired_rule(
    compiled: CompiledRules, reply: dict, finish_reason: str, completion_tokens: int | None
) -> str | None:
    """The label of the first rule this reply breaks, or None when it passes them all."""
    rules = compiled.rules
    text = content_text(reply.get("content"))
    calls = call_text(reply)
    if rules.reject_cut_off and finish_reason == "length":
        return "cut off (finish_reason length)"
    if rules.reject_empty and not text.strip() and not calls:
        return "empty reply"
    plain = text.replace("\u2019", "'")  # typographic apostrophes match patterns written with '
    for source, pattern in compiled.patterns:
        if plain and pattern.search(plain):
            return f"pattern: {source}"[:RULE_LIMIT]
    found = _bound_rule(len(text) + len(calls), rules.min_chars, rules.max_chars, "characters")
    if found is None and completion_tokens is not None:
        found = _bound_rule(completion_tokens, rules.min_tokens, rules.max_tokens, "tokens")
    return found


def review_update(
    state: str, rule: str, reviewed: bool, fired: str | None
) -> tuple[str, str] | None:
    """The (state, rule) a row gets after the rules ran, or None to leave it alone.

    A person's verdict is never overridden. A row a rule rejected earlier goes back to
    review when no rule fires any more (the rules changed).
    """
    if reviewed:
        return None
    if fired is not None:
        return None if (state, rule) == (REJECTED, fired) else (REJECTED, fired)
    if rule:
        return NEW, ""
    return None


def parse_tags(text: str) -> list[str]:
    """Free tags from "a, b,c": trimmed, lower-case, without repeats, in order."""
    tags: list[str] = []
    for part in text.split(","):
        tag = " ".join(part.split()).lower()[:TAG_LIMIT]
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def join_tags(tags: list[str]) -> str:
    """Stored as ",a,b," so that one tag is found with `contains=",a,"`."""
    return f",{','.join(tags)}," if tags else ""


def stored_tags(stored: str) -> list[str]:
    return [t for t in stored.split(",") if t]
