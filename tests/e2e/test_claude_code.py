"""The real Claude Code CLI against a running gateway: a plain answer, and a turn where the
model calls a tool, Claude Code runs it and sends the result back. The CLI is installed by
the fixture into .bench/npm (gitignored) when missing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.procs import ROOT, manage, start_gateway

pytestmark = pytest.mark.e2e

PACKAGE = "@anthropic-ai/claude-code"
VERSION = "2.1.332"  # the version these tests were written against
NPM_DIR = ROOT / ".bench" / "npm"
DUMP = """
import json
from recording.models import Conversation, RequestLog
print(json.dumps({
    "rows": list(RequestLog.objects.filter(service="anthropic").values_list("model_in", "state")),
    "conversations": list(Conversation.objects.values("model_in", "turns", "messages")),
}))
"""


def installed_version() -> str | None:
    package = NPM_DIR / "node_modules" / PACKAGE / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else None


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    if installed_version() != VERSION:
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(NPM_DIR),
                "--no-audit",
                "--no-fund",
                f"{PACKAGE}@{VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
    binary = NPM_DIR / "node_modules" / ".bin" / "claude"
    assert binary.exists(), f"npm did not install {PACKAGE}"
    return binary


@pytest.fixture(scope="module")
def code_gateway(e2e_dir, fake):
    proc, url = start_gateway(
        e2e_dir,
        fake,
        MODEL_MAP=json.dumps({"/claude-.*/": "echo"}),
        RECORD_FLUSH_SECONDS="0.05",
    )
    yield proc, url
    proc.stop()


def run_claude(claude_bin: Path, url: str, tmp_path: Path, prompt: str, model: str):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": "sk-client-for-claude-code",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    done = subprocess.run(
        [str(claude_bin), "-p", prompt, "--model", model, "--permission-mode", "acceptEdits"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, work


def recorded(proc, wanted) -> dict:
    """What the gateway wrote, once `wanted(found)` holds (the writer runs off the path)."""
    deadline = time.monotonic() + 20
    while True:
        found = json.loads(manage(proc, "shell", "-c", DUMP).strip().splitlines()[-1])
        if wanted(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_claude_code_gets_a_plain_answer(claude_bin, code_gateway, tmp_path):
    proc, url = code_gateway
    out, _ = run_claude(claude_bin, url, tmp_path, "Say hello to the gateway", "claude-sonnet-5-5")
    assert "Say hello to the gateway" in out  # the fake upstream echoes the prompt
    found = recorded(proc, lambda f: ["claude-sonnet-5-5", "ok"] in f["rows"])
    assert ["claude-sonnet-5-5", "ok"] in found["rows"]


def test_claude_code_runs_a_tool_the_model_calls_and_gets_the_answer(
    claude_bin, code_gateway, tmp_path
):
    proc, url = code_gateway
    prompt = 'CALL Write {"file_path": "hello.txt", "content": "written by the agent"}'
    out, work = run_claude(claude_bin, url, tmp_path, prompt, "agent")
    assert (work / "hello.txt").read_text() == "written by the agent"
    assert "Done. The tool said: File created successfully" in out

    def session_captured(found: dict) -> bool:
        return any(c["model_in"] == "agent" and c["turns"] == 2 for c in found["conversations"])

    found = recorded(proc, session_captured)
    assert [r for r in found["rows"] if r[0] == "agent"] == [["agent", "ok"], ["agent", "ok"]]
    (session,) = [c for c in found["conversations"] if c["model_in"] == "agent"]
    assert session["turns"] == 2
    call, result, answer = session["messages"][-3:]
    assert call["tool_calls"][0]["function"]["name"] == "Write"
    assert result["role"] == "tool" and result["tool_call_id"] == call["tool_calls"][0]["id"]
    assert answer["content"].startswith("Done. The tool said: File created successfully")
