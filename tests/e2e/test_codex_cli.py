"""The real Codex CLI against a running gateway: its Responses requests, translated.

Codex is installed by this module (npm, into .bench/npm, once) when it is missing. It runs
with HOME and CODEX_HOME in a temporary directory whose config.toml points a model provider
at the gateway's /v1 with wire_api = "responses".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import httpx
import pytest

from tests.e2e.procs import ROOT

pytestmark = pytest.mark.e2e

CODEX = "@openai/codex@0.169.0"  # the version whose requests docs/NOTES describe
PREFIX = ROOT / ".bench" / "npm"
BINARY = PREFIX / "node_modules" / ".bin" / "codex"
KEY = "sk-codex-e2e-0123456789"
CONFIG = """
model = "{model}"
model_provider = "gateway"

[model_providers.gateway]
name = "LLM gateway"
base_url = "{url}/v1"
env_key = "GATEWAY_KEY"
wire_api = "responses"
"""


@pytest.fixture(scope="session")
def codex_binary():
    """The Codex CLI, installed with the project's npm when missing (make test on a fresh
    machine needs nothing installed by hand)."""
    if not BINARY.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the Codex CLI for these tests"
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", CODEX],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return str(BINARY)


def codex(binary: str, tmp_path, url: str, model: str, prompt: str, *flags: str):
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    (home / ".codex" / "config.toml").write_text(CONFIG.format(model=model, url=url))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CODEX_HOME": str(home / ".codex"),
        "GATEWAY_KEY": KEY,
    }
    return subprocess.run(
        [binary, "exec", "--skip-git-repo-check", *flags, prompt],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_codex_prints_a_plain_answer(codex_binary, gateway_url, tmp_path):
    done = codex(codex_binary, tmp_path, gateway_url, "echo", "Reply with this very sentence.")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Reply with this very sentence."


def test_codex_runs_exec_command_and_answers_with_its_output(
    codex_binary, gateway_url, fake, tmp_path
):
    command = {"cmd": "echo made-by-codex > proof.txt && cat proof.txt"}
    done = codex(
        codex_binary,
        tmp_path,
        gateway_url,
        "agent",
        f"CALL exec_command {json.dumps(command)}",
        "--dangerously-bypass-approvals-and-sandbox",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "work" / "proof.txt").read_text().strip() == "made-by-codex"
    assert done.stdout.startswith("Done. The tool said:") and "made-by-codex" in done.stdout
    last = httpx.get(f"{fake}/_fake/last").json()["body"]
    call, output = last["messages"][-2:]  # Codex sent the call and its output back
    assert call["tool_calls"][0]["function"]["name"] == "exec_command"
    assert output["role"] == "tool" and "made-by-codex" in output["content"]
    assert "web_search" not in json.dumps(last["tools"])  # hosted: left out
    assert any(t["function"]["name"].startswith("multi_agent_v1__") for t in last["tools"])
