"""The console of runproxy, command by command (no server, no terminal)."""

from __future__ import annotations

import io
import logging
import os
import signal
import tempfile

import pytest

from llmproxy.console import CLEAR_SCREEN, TRAFFIC, Console, attached_to_terminal


@pytest.fixture
def console():
    level = TRAFFIC.level
    TRAFFIC.setLevel(logging.WARNING)
    out = io.StringIO()
    stops = []
    yield Console(io.StringIO(), out, lambda: stops.append(True)), out, stops
    TRAFFIC.setLevel(level)


def test_exit_and_quit_stop_the_server_and_the_console(console):
    shell, out, stops = console
    assert shell.handle("exit\n") is False
    assert shell.handle("  QUIT ") is False
    assert stops == [True, True]
    assert "Stopping" in out.getvalue()


def test_verbose_switches_the_per_request_lines_on_and_off(console):
    shell, out, _ = console
    shell.handle("verbose")
    assert TRAFFIC.isEnabledFor(logging.INFO)
    shell.handle("verbose")
    assert not TRAFFIC.isEnabledFor(logging.INFO)
    assert out.getvalue().splitlines() == ["verbose on: one line per request", "verbose off"]


def test_verbose_reaches_worker_processes_as_signals(monkeypatch):
    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    shell = Console(io.StringIO(), io.StringIO(), lambda: None, lambda: [101, 102])
    shell.verbose = False
    shell.toggle_verbose()
    shell.toggle_verbose()
    assert sent == [
        (101, signal.SIGUSR1),
        (102, signal.SIGUSR1),
        (101, signal.SIGUSR2),
        (102, signal.SIGUSR2),
    ]


def test_clear_clears_the_screen_and_help_lists_every_command(console):
    shell, out, stops = console
    assert shell.handle("clear") and shell.handle("help")
    text = out.getvalue()
    assert text.startswith(CLEAR_SCREEN)
    for command in ("clear", "verbose", "exit", "quit", "help"):
        assert command in text
    assert not stops


def test_an_unknown_command_says_so_and_blank_lines_are_ignored(console):
    shell, out, _ = console
    assert shell.handle("reboot") and shell.handle("\n")
    assert out.getvalue() == "unknown command 'reboot': type help for the list\n"


def test_the_console_reads_until_exit():
    stops = []
    stdin = io.StringIO("help\nexit\nverbose\n")
    Console(stdin, io.StringIO(), lambda: stops.append(1)).run()
    assert stops == [1]
    assert stdin.read() == "verbose\n"  # nothing read after exit


def test_nothing_but_a_foreground_terminal_counts_as_attached():
    read, write = os.pipe()
    try:
        with os.fdopen(read) as pipe:
            assert not attached_to_terminal(pipe)
    finally:
        os.close(write)
    with tempfile.TemporaryFile("w+") as file:
        assert not attached_to_terminal(file)
    assert not attached_to_terminal(io.StringIO())
