"""The console of `runproxy`: commands its operator types on the terminal it runs in.

Read only when stdin is a terminal and runproxy is that terminal's foreground job: under
systemd, in CI, behind a pipe or in the background nothing is read (a background read
would stop the process). `exit` and `quit` stop the gateway as SIGTERM does (requests in
flight may finish); `verbose` switches the per-request lines; `clear` clears the screen.

With several workers the lines are printed by the workers: `verbose` reaches them as
SIGUSR1 (show) and SIGUSR2 (hide), which each worker follows once it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

TRAFFIC = logging.getLogger("llmproxy.traffic")
WORKER_SIGNALS = "LLMPROXY_CONSOLE_SIGNALS"  # set for workers that follow SIGUSR1/SIGUSR2
CLEAR_SCREEN = "\033[H\033[2J\033[3J"
HELP = """Commands:
  clear         clear the screen
  verbose       show or hide one line per request and response
  exit, quit    stop the gateway (requests in flight may finish)
  help          this list"""


def attached_to_terminal(stream: TextIO | None = None) -> bool:
    """Is stdin a terminal whose foreground job is this process?"""
    stream = sys.stdin if stream is None else stream
    try:
        fd = stream.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def traffic_shown() -> bool:
    return TRAFFIC.isEnabledFor(logging.INFO)


def show_traffic(on: bool) -> None:
    TRAFFIC.setLevel(logging.INFO if on else logging.WARNING)


class Console:
    """Reads commands line by line; `stop` stops the server, `workers` lists the pids
    of worker processes (empty: the lines are printed by this process)."""

    def __init__(
        self,
        stdin: TextIO,
        stdout: TextIO,
        stop: Callable[[], None],
        workers: Callable[[], list[int]] = list,
    ) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.stop, self.workers = stop, workers
        self.verbose = traffic_shown()

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def toggle_verbose(self) -> None:
        self.verbose = not self.verbose
        show_traffic(self.verbose)
        for pid in self.workers():
            with contextlib.suppress(ProcessLookupError):  # a worker being replaced
                os.kill(pid, signal.SIGUSR1 if self.verbose else signal.SIGUSR2)
        self.say(f"verbose {'on: one line per request' if self.verbose else 'off'}")

    def handle(self, line: str) -> bool:
        """Run one command; False once the console should stop reading."""
        command = line.strip().lower()
        if command in ("exit", "quit"):
            self.say("Stopping: requests in flight may finish.")
            self.stop()
            return False
        if command == "clear":
            self.stdout.write(CLEAR_SCREEN)
            self.stdout.flush()
        elif command == "verbose":
            self.toggle_verbose()
        elif command in ("help", "?"):
            self.say(HELP)
        elif command:
            self.say(f"unknown command {command!r}: type help for the list")
        return True

    def run(self) -> None:
        for line in self.stdin:
            if not self.handle(line):
                return


def stop_gracefully() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def start_console(
    stop: Callable[[], None] = stop_gracefully, workers: Callable[[], list[int]] = list
) -> bool:
    """Read commands in a background thread when attached to a terminal; True if so.
    `stop` begins the server's graceful shutdown (the one SIGTERM begins)."""
    if not attached_to_terminal():
        return False
    console = Console(sys.stdin, sys.stdout, stop, workers)
    threading.Thread(target=console.run, name="console", daemon=True).start()
    return True


async def follow_worker_signals() -> None:
    """In a worker of a console-driven runproxy: SIGUSR1 shows the lines, SIGUSR2 hides them."""
    if os.environ.get(WORKER_SIGNALS) != "1":
        return
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, show_traffic, True)
    loop.add_signal_handler(signal.SIGUSR2, show_traffic, False)
