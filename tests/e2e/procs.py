"""Real processes for end-to-end tests: the gateway and fake upstreams on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.env = env
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited early:\n{self.output()}")
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"not ready after {timeout}s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    for name in (
        "DEFAULT_UPSTREAM",
        "UPSTREAM_URL",
        "OPENAI_API_BASE_URL",
        "MODEL_MAP",
        "ROUTES_CONFIG",
        "DATABASE_URL",
        "OPENAI_API_KEY",
        "STRIP_THINKING",
    ):
        env.pop(name, None)
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": "e2e-secret",
            "PYTHONUNBUFFERED": "1",
            "RATE_LIMIT": "0",
        }
    )  # the rate-limit tests set their own
    env.update(extra)
    return env


def start_fake(
    tmp: Path, name: str = "fake", port: int | None = None, models: str = ""
) -> tuple[Process, str]:
    port = port or free_port()
    extra = ["--models", models] if models else []
    proc = Process(
        ["fakeupstream", "--port", str(port), "--name", name, *extra],
        base_env(tmp),
        tmp / f"fake-{name}.log",
    )
    url = f"http://127.0.0.1:{port}"
    proc.wait_until_ready(f"{url}/v1/models")
    return proc, url


def start_gateway(tmp: Path, upstream: str, *args: str, **env: str) -> tuple[Process, str]:
    port = free_port()
    data = tmp / f"gateway-{port}"
    data.mkdir()
    proc = Process(
        ["runproxy", "--port", str(port), *args],
        base_env(data, DEFAULT_UPSTREAM=upstream, **env),
        data / "gateway.log",
    )
    url = f"http://127.0.0.1:{port}"
    proc.wait_until_ready(f"{url}/health")
    return proc, url


def manage(proc: Process, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a management command against a running gateway's settings and data; its output."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**proc.env, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def create_admin(proc: Process, password: str) -> None:
    """A superuser `admin` with this password, in the gateway's database."""
    manage(
        proc,
        *("createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.com"),
        env={"DJANGO_SUPERUSER_PASSWORD": password},
    )


@contextmanager
def logged_in(url: str, password: str) -> Iterator[httpx.Client]:
    """An httpx session logged in as `admin` (its cookies open every staff page)."""
    with httpx.Client(base_url=url, timeout=30) as session:
        session.get("/admin/login/")
        session.post(
            "/admin/login/",
            data={
                "username": "admin",
                "password": password,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "next": "/admin/",
            },
        )
        assert "sessionid" in session.cookies, "admin login failed"
        yield session
