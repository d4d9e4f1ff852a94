"""A progress bar for long management commands (export, relabel)."""

from __future__ import annotations

import sys
from typing import IO


class ProgressBar:
    """A bar on stderr when it is a terminal: `[#####-----] 12/40`; nothing otherwise."""

    def __init__(self, total: int, stream: IO[str] | None = None, width: int = 30) -> None:
        self.total, self.width = total, width
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()

    def __call__(self, done: int) -> None:
        if self.shown:
            filled = int(self.width * done / max(self.total, 1))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {done}/{self.total}")
            self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (self.width + 30) + "\r")
            self.stream.flush()
