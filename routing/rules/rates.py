"""Pure parsing of rates such as 1000/15m, and what a window's count means for a request."""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"(\d+)\s*/\s*(\d*)\s*([smhd])", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}s"


def parse_rate(text: str) -> Rate | None:
    """'1000/15m', '10/s', '500/1h', '20000/d'; '0' (or empty) means no limit."""
    text = text.strip()
    if text in ("", "0"):
        return None
    match = RATE.fullmatch(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate such as 1000/15m, 10/s or 500/1h")
    span = int(match.group(2) or 1) * UNITS[match.group(3).lower()]
    return Rate(int(match.group(1)), span)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends

    def headers(self, now: float) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset - int(now)))
        return headers
