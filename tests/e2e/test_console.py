"""runproxy's console on a real (pseudo-)terminal: it reads commands when it runs in the
foreground of a terminal, and reads nothing when stdin is not one."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios
import threading
import time

import httpx
import pytest

from tests.e2e.procs import ROOT, base_env, free_port

pytestmark = pytest.mark.e2e


class Terminal:
    """runproxy with a pseudo-terminal as its controlling terminal, stdin and output."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()

        def take_the_terminal() -> None:  # in the child: a session whose terminal is ours
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runproxy", *args],
            cwd=ROOT,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=take_the_terminal,
        )
        os.close(slave)
        self.output = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the child closed its side
                return
            if not data:
                return
            self.output += data

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared in:\n{self.text()}")
            time.sleep(0.05)

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path, fake):
    port = free_port()
    env = base_env(tmp_path, DEFAULT_UPSTREAM=fake)
    term = Terminal(["--port", str(port)], env)
    term.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{term.url}/health", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, term.text()
            time.sleep(0.1)
    yield term
    term.close()


def chat(url: str, model: str = "echo") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "console test"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)


def test_the_console_clears_lists_its_commands_and_switches_the_request_lines(terminal):
    terminal.wait_for("Type help for the console's commands")
    terminal.wait_for("Gateway on")
    terminal.type("help")
    terminal.wait_for("exit, quit")
    terminal.type("clear")
    terminal.wait_for("\033[2J")
    assert chat(terminal.url).status_code == 200
    terminal.type("verbose")
    terminal.wait_for("verbose on")
    assert chat(terminal.url, "echo+words:3").status_code == 200
    terminal.wait_for("← 200 ok echo+words:3")
    terminal.type("verbose")
    terminal.wait_for("verbose off")
    assert chat(terminal.url, "echo+words:4").status_code == 200
    time.sleep(0.5)
    assert "echo+words:4" not in terminal.text()
    assert "→ /v1/chat/completions echo from" not in terminal.text()  # before verbose


def test_exit_stops_the_gateway_after_the_requests_in_flight(terminal):
    terminal.wait_for("Gateway on")
    body = {
        "model": "echo+words:8+delay:150",
        "stream": True,
        "messages": [{"role": "user", "content": "slow"}],
    }
    with httpx.stream("POST", f"{terminal.url}/v1/chat/completions", json=body) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("data: ")
        terminal.type("exit")
        terminal.wait_for("Stopping")
        rest = list(lines)
    assert "data: [DONE]" in rest  # the stream in flight was allowed to finish
    assert terminal.proc.wait(30) == 0


def test_nothing_is_read_when_stdin_is_not_a_terminal(tmp_path, fake):
    port = free_port()
    piped = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runproxy", "--port", str(port)],
        cwd=ROOT,
        env=base_env(tmp_path, DEFAULT_UPSTREAM=fake),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while piped.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        piped.stdin.write("exit\nquit\n")
        piped.stdin.flush()
        time.sleep(2)
        alive = piped.poll() is None
        answers = alive and chat(f"http://127.0.0.1:{port}").status_code == 200
    finally:
        piped.terminate()
        out, _ = piped.communicate(timeout=30)
    assert alive and answers, out  # still serving: "exit" on a pipe is not a command
    assert "Type help" not in out and "Stopping" not in out


def test_with_several_workers_verbose_reaches_them_and_exit_stops_them_all(tmp_path, fake):
    port = free_port()
    env = base_env(tmp_path, DEFAULT_UPSTREAM=fake, REDIS_URL="redis://127.0.0.1:6379/7")
    term = Terminal(["--port", str(port), "--workers", "2"], env)
    url = f"http://127.0.0.1:{port}"
    try:
        term.wait_for("2 worker processes")
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, term.text()
            time.sleep(0.1)
        term.type("verbose")
        term.wait_for("verbose on")
        time.sleep(0.5)  # the signals reach the workers
        for n in range(4):  # whichever worker answers prints its lines
            assert chat(url, f"echo+words:{n + 1}").status_code == 200
        for n in range(4):
            term.wait_for(f"← 200 ok echo+words:{n + 1}")
        term.type("exit")
        assert term.proc.wait(60) == 0
    finally:
        term.close()
