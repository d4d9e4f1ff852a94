"""The real-server tier (`make test-real`): llama.cpp's llama-server on a tiny generated model,
built by scripts/realup/build.sh into .realup/, behind a real gateway.

Its replies are random text from random weights (stray bytes included): these tests check
that the gateway relays a real server faithfully, comparing each answer with the server's
direct answer to the same request, sent back to back (greedy output is repeatable on one
server, not across restarts).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import ROOT, free_port, start_gateway

REALUP = Path(os.environ.get("REALUP_DIR", ROOT / ".realup"))
ALIAS = "tiny"


class LlamaServer:
    """One llama-server process on 127.0.0.1."""

    def __init__(self, log: Path, *args: str, port: int | None = None) -> None:
        server = REALUP / "server-path"
        model = REALUP / "tiny.gguf"
        if not server.exists() or not model.exists():
            raise RuntimeError(f"no llama-server in {REALUP}: run `make test-real`")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        command = [server.read_text().strip(), "-m", str(model), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "-t", "1", "--jinja", "--no-webui", "-a", ALIAS]
        self.proc = subprocess.Popen(
            [*command, *args], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_until_ready()

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited: see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"llama-server not ready in {timeout}s: see {self.log.name}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture(scope="session")
def real_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("real")


@pytest.fixture(scope="session")
def llama(real_dir):
    """The chat and completions server (4 slots sharing a 2048-token context)."""
    server = LlamaServer(real_dir / "llama.log", "-c", "2048", "-np", "4", "--kv-unified")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def llama_embeddings(real_dir):
    server = LlamaServer(real_dir / "embed.log", "--embeddings", "--pooling", "mean", "-c", "512")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def doomed_port() -> int:
    """Where the server that a test kills mid-stream will listen."""
    return free_port()


@pytest.fixture(scope="session")
def gateway(real_dir, llama, llama_embeddings, doomed_port):
    """The gateway in front of them: `tiny` on the chat server, `tiny-embed` on the
    embeddings server, `doomed` on a server started (and killed) by one test. Thinking is
    kept as it is: random text may hold a '<' that a stripper would hold back a moment,
    which changes how a stream is cut, not what it says."""
    routes = real_dir / "routes.yaml"
    routes.write_text(
        f"""
upstreams:
  - {{name: embeddings, url: "{llama_embeddings.url}"}}
  - {{name: doomed, url: "http://127.0.0.1:{doomed_port}", timeout: 5}}
routes:
  - {{match: {{model: tiny-embed}}, route: {{upstream: embeddings, model: {ALIAS}}}}}
  - {{match: {{model: doomed}}, route: {{upstream: doomed, model: {ALIAS}}}}}
"""
    )
    ollama_port = free_port()
    proc, url = start_gateway(
        real_dir,
        llama.url,
        ROUTES_CONFIG=str(routes),
        STRIP_THINKING="false",
        REQUEST_TIMEOUT="30",
        OLLAMA_PORT=str(ollama_port),
        OLLAMA_UPSTREAM_URL=f"http://127.0.0.1:{free_port()}",
        RECORD_FLUSH_SECONDS="0.05",
        COOLDOWN_FAILURES="2",
    )
    proc.url, proc.ollama_url = url, f"http://127.0.0.1:{ollama_port}"
    yield proc
    proc.stop()
