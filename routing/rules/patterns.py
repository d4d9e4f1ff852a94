"""Pure matching of model names and client addresses.

A model pattern is an exact name, or a `/regex/` matched the way the routers this gateway
replaces match it, so that their configurations route the same here:
- in routes and gateway keys' allowed models, a regex matches when it is found anywhere in
  the name (`/llama/` matches `meta-llama-3`; anchor it with `^` and `$` to say more);
- in the model map, a regex matches from the start of the name (`/gpt/` maps `gpt-4o`, not
  `my-gpt`), and the whole name becomes the expanded replacement.
Regexes run on RE2 (google-re2), whose matching time is linear in the input:
no pattern can run away, whatever a user types into a route.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import re2

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_TEMPLATE_REF = re.compile(r"\\(\d{1,2})|\\g<(\w+)>")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class PatternError(ValueError):
    """A pattern or an address that cannot be used, with a message for people."""


def is_regex(pattern: str) -> bool:
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


ANYWHERE = "anywhere"  # routes, gateway keys: found anywhere in the name (re.search)
FROM_START = "from_start"  # the model map: matched from the start of the name (re.match)
HOW_REGEXES_MATCH = {
    ANYWHERE: "found anywhere in the name",
    FROM_START: "matched from the start of the name",
}


@dataclass(frozen=True, slots=True)
class ModelPattern:
    """Matches a model name; `groups` of a match feed `\\1` or `\\g<name>` in templates."""

    source: str
    exact: str | None
    regex: object | None
    how: str = ANYWHERE  # for a regex: ANYWHERE or FROM_START

    def match(self, model: str) -> object | None:
        if self.exact is not None:
            return True if model == self.exact else None
        if self.how == FROM_START:
            return self.regex.match(model)
        return self.regex.search(model)

    def describe(self) -> str:
        """What this pattern is and how it matches, for explanations."""
        if self.exact is not None:
            return f"the exact name {self.exact!r}"
        return f"the regex {self.source} ({HOW_REGEXES_MATCH[self.how]})"


def compile_model_pattern(pattern: str, how: str = ANYWHERE) -> ModelPattern:
    """An exact name or a `/regex/`; `how` says how a regex matches (see the module's doc)."""
    pattern = pattern.strip()
    if not pattern:
        raise PatternError("the model pattern is empty")
    if not is_regex(pattern):
        return ModelPattern(pattern, pattern, None, how)
    body = pattern[1:-1]
    if not body:
        raise PatternError("the regex between the slashes is empty")
    try:
        regex = re2.compile(body, _RE2_OPTIONS)
    except re2.error as exc:
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(f"invalid regex {pattern}: {message}") from None
    return ModelPattern(pattern, None, regex, how)


def check_template(template: str, pattern: ModelPattern) -> None:
    """Refuse `\\N` or `\\g<name>` references that the pattern cannot fill."""
    groups = pattern.regex.groups if pattern.regex is not None else 0
    names = set(pattern.regex.groupindex) if pattern.regex is not None else set()
    for number, name in _TEMPLATE_REF.findall(template):
        if number and int(number) > groups:
            raise PatternError(
                f"{template!r} refers to group {number}, which {pattern.source} lacks"
            )
        if name and name not in names and not (name.isdigit() and int(name) <= groups):
            raise PatternError(
                f"{template!r} refers to group {name!r}, which {pattern.source} lacks"
            )


def expand_template(template: str, match: object) -> str:
    """Fill `\\1` and `\\g<name>` in `template` from a regex match (exact matches: as is)."""
    if match is True or "\\" not in template:
        return template

    def group(ref: re.Match) -> str:
        key = int(ref.group(1)) if ref.group(1) else ref.group(2)
        if isinstance(key, str) and key.isdigit():
            key = int(key)
        return match.group(key) or ""

    return _TEMPLATE_REF.sub(group, template)


def parse_network(value: str) -> IPNetwork:
    """An IP address or a CIDR block, as a network."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise PatternError(f"{value!r} is not an IP address or CIDR block") from None


def parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket still matches IPv4 rules.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
