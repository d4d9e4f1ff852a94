"""LiteLLM's proxy for the side-by-side benchmark: installed into its own environment
(`.bench/litellm`, outside the project's), pointed at the same fake upstream, with its
database, telemetry and message logging off."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.procs import free_port

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench" / "litellm"
CONFIG = """
model_list:
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: {upstream}/v1
      api_key: sk-bench
litellm_settings:
  telemetry: false
  drop_params: true
  turn_off_message_logging: true
"""


def ensure_litellm(python: str) -> Path:
    """The `litellm` command, installed on first use (a minute, from PyPI)."""
    command = VENV / "bin" / "litellm"
    if not command.exists():
        print("installing litellm[proxy] into .bench/litellm (first run only)…", flush=True)
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"], check=True
        )
    return command


class LiteLLM:
    """A running LiteLLM proxy (one worker, as it starts by default)."""

    def __init__(self, work: Path, upstream: str, python: str) -> None:
        config = work / "litellm.yaml"
        config.write_text(CONFIG.format(upstream=upstream))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))},
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list
            "LITELLM_LOG": "ERROR",
            "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",  # loopback only
        }
        self._log = (work / "litellm.log").open("wb")
        self.proc = subprocess.Popen(
            [str(ensure_litellm(python)), "--config", str(config), "--port", str(self.port)],
            cwd=work,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("LiteLLM exited early; see litellm.log")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"LiteLLM not ready after {timeout:g} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
