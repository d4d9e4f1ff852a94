"""`manage.py runproxy`: its options, its servers, and how it refuses bad configuration."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.procs import ROOT, Process, base_env, free_port

pytestmark = pytest.mark.e2e

BODY = {"model": "echo+chunk:2", "messages": [{"role": "user", "content": "<think>x</think>ok!"}]}


def run_failing(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "runproxy", "--port", str(free_port())],
        env=base_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODEL_MAP": "{not json"}, "configuration error: MODEL_MAP: not valid JSON"),
        ({"MODEL_MAP": '{"/(/": "x"}'}, "MODEL_MAP['/(/']: invalid regex"),
        ({"ROUTES_CONFIG": "/nonexistent/routes.yaml"}, "ROUTES_CONFIG: file"),
        ({"REQUEST_TIMEOUT": "soon"}, "REQUEST_TIMEOUT: expected a number"),
        ({"STRIP_THINKING": "maybe"}, "STRIP_THINKING: expected one of"),
        ({"ADMIN_USERNAME": "boss", "ADMIN_PASSWORD": "admin"}, "ADMIN_PASSWORD: This password"),
        ({"ADMIN_USERNAME": "boss", "ADMIN_PASSWORD": "12345678901"}, "ADMIN_PASSWORD: "),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(tmp_path, env, message):
    result = run_failing(tmp_path, **env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_routes_file_names_each_problem(tmp_path):
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - match: {model: '/(/'}\n  - match: {source_host: nope}\n")
    result = run_failing(tmp_path, ROUTES_CONFIG=str(routes))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "routes[0].match.model" in lines[0] and "routes[1].match.source_host" in lines[1]


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_legacy_aliases_and_both_servers_work(tmp_path, fake, server):
    port = free_port()
    upstream = urlsplit(fake)
    args = [
        "--bindip",
        "127.0.0.1",
        "--bindport",
        str(port),
        "--aihost",
        upstream.hostname,
        "--aihostport",
        str(upstream.port),
        "--verbose",
        "--server",
        server,
    ]
    proc = Process(["runproxy", *args], base_env(tmp_path), tmp_path / "gw.log")
    try:
        url = f"http://127.0.0.1:{port}"
        proc.wait_until_ready(f"{url}/health")
        with httpx.stream(
            "POST", f"{url}/v1/chat/completions", json={**BODY, "stream": True}
        ) as response:
            text = "".join(response.iter_text())
        assert '"content":"ok"' in text and "x</" not in text
        assert text.rstrip().endswith("data: [DONE]")
        whole = httpx.post(f"{url}/v1/chat/completions", json=BODY).json()
        assert whole["choices"][0]["message"]["content"] == "ok!"
    finally:
        proc.stop()
    output = proc.output()
    assert "→ /v1/chat/completions echo+chunk:2" in output
    assert "← 200 ok" in output
    assert "Authorization" not in output
