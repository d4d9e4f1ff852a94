"""Protection seen by real clients: limits, keys, validation, 413, cache and headers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from tests.e2e.procs import ROOT, manage, start_gateway

pytestmark = pytest.mark.e2e
USER = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def protected(e2e_dir, fake):
    proc, url = start_gateway(
        e2e_dir,
        fake,
        RATE_LIMIT="0",
        MAX_REQUEST_BYTES="4096",
        CACHE_ENABLED="true",
        OPENAI_API_KEY="sk-upstream-e2e-key",
        RECORD_FLUSH_SECONDS="0.05",
        CONFIG_POLL_SECONDS="0.2",
    )
    code = (
        "from routing.models import GatewayKey; "
        "k = GatewayKey(name='e2e', rate_limit='3/m'); s = k.issue(); k.save(); print(s)"
    )
    secret = (
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
            env=proc.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    time.sleep(1.0)  # five polls: the gateway has picked the new key up
    yield url, secret, proc
    proc.stop()


def client(url: str, key: str = "sk-client") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 1.2}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"n": 0}, "n"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": []}, "messages"),
        ({"extra_body": {"stream": "yes"}}, "stream"),
    ],
)
def test_every_validation_rule_answers_a_400_naming_the_field(protected, arguments, param):
    url, _, _ = protected
    with pytest.raises(openai.BadRequestError) as caught:
        client(url).chat.completions.create(**{"model": "echo", "messages": USER, **arguments})
    assert caught.value.body["param"] == param


def test_oversized_bodies_get_a_413_in_each_apis_shape(protected):
    url, _, _ = protected
    big = [{"role": "user", "content": "x" * 10_000}]
    with pytest.raises(openai.APIStatusError) as caught:
        client(url).chat.completions.create(model="echo", messages=big)
    assert caught.value.status_code == 413
    assert caught.value.body["code"] == "request_too_large"
    with pytest.raises(ollama.ResponseError) as refused:
        ollama.Client(host=url).chat(model="echo", messages=big, stream=False)
    assert refused.value.status_code == 413 and "larger than the limit" in refused.value.error


def test_a_gateway_key_works_is_limited_and_never_forwarded(protected):
    url, secret, _ = protected
    keyed = client(url, secret)
    reply = keyed.chat.completions.create(model="inspect", messages=USER)
    seen = json.loads(reply.choices[0].message.content)
    assert seen["headers"]["authorization"] == "Bearer sk-upstream-e2e-key"
    assert secret not in reply.choices[0].message.content
    keyed.chat.completions.create(model="echo", messages=USER)
    keyed.chat.completions.create(model="echo", messages=[{"role": "user", "content": "2"}])
    with pytest.raises(openai.RateLimitError) as limited:
        keyed.chat.completions.create(model="echo", messages=USER)
    assert limited.value.response.headers["x-ratelimit-limit"] == "3"
    assert int(limited.value.response.headers["retry-after"]) >= 1
    with pytest.raises(openai.AuthenticationError):
        client(url, "llmp_not-a-real-key").chat.completions.create(model="echo", messages=USER)


def test_identical_requests_are_served_from_the_cache(protected):
    url, _, _ = protected
    body = {"model": "echo+words:3", "messages": [{"role": "user", "content": "cache me"}]}
    first = httpx.post(f"{url}/v1/chat/completions", json=body)
    for _ in range(50):  # the writer stores the answer within a flush interval
        second = httpx.post(f"{url}/v1/chat/completions", json=body)
        if second.headers["x-cache"] == "HIT":
            break
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.json()["choices"][0]["message"]["content"] == "w0 w1 w2"
    streamed = httpx.post(f"{url}/v1/chat/completions", json={**body, "stream": True})
    assert streamed.headers["x-cache"] == "HIT" and streamed.text.endswith("data: [DONE]\n\n")


def test_answers_carry_security_headers_and_no_server_banner(protected):
    url, _, _ = protected
    for response in (httpx.get(f"{url}/health"), httpx.get(f"{url}/admin/login/")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "server" not in response.headers
    assert (
        "script-src 'self'" in httpx.get(f"{url}/admin/login/").headers["content-security-policy"]
    )


def test_a_real_gateway_answers_its_loopback_names_and_refuses_others(protected):
    url, _, _ = protected
    port = url.rsplit(":", 1)[1]
    body = {"model": "echo", "messages": USER}
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        response = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Host": host})
        assert response.status_code == 200, (host, response.text)
    rebound = httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"Host": f"rebind.example:{port}"}
    )
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "host_not_allowed"
    page = httpx.post(
        f"{url}/api/chat",
        content=json.dumps({**body, "stream": False}),
        headers={"Origin": "http://127.0.0.1:9555", "Content-Type": "text/plain"},
    )
    assert page.status_code == 403 and set(page.json()) == {"error"}


def loose_modes(directory: Path) -> list[str]:
    """Entries of `directory` (itself included) that anyone but their owner may open."""
    found = [] if directory.stat().st_mode & 0o777 == 0o700 else [f"{directory} itself"]
    for path in directory.rglob("*"):
        if path.stat().st_mode & 0o077:
            found.append(f"{path.relative_to(directory)} {path.stat().st_mode & 0o777:o}")
    return found


def test_the_data_directory_and_every_file_in_it_are_the_owners_alone(protected, tmp_path):
    url, _, proc = protected
    body = {"model": "echo", "messages": [{"role": "user", "content": "kept on disk"}]}
    assert httpx.post(f"{url}/v1/chat/completions", json=body).status_code == 200
    data = Path(proc.env["DATA_DIR"])
    names = {p.name for p in data.iterdir()}
    assert {"llmproxy.sqlite3", "llmproxy.sqlite3-wal", "llmproxy.sqlite3-shm"} <= names
    assert loose_modes(data) == []
    manage(proc, "export_chatml", "--out", str(tmp_path / "exported"))
    exported = [p for p in (tmp_path / "exported").rglob("*") if p.is_file()]
    assert exported and all(p.stat().st_mode & 0o077 == 0 for p in exported)


def test_a_data_directory_left_open_is_closed_at_start(e2e_dir, fake):
    data = e2e_dir / "loose-data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "llmproxy.sqlite3").touch(mode=0o644)
    (data / "llmproxy.sqlite3").chmod(0o644)
    (data / "journal").mkdir(mode=0o755)
    proc, url = start_gateway(e2e_dir, fake, DATA_DIR=str(data))
    try:
        assert httpx.get(f"{url}/health").status_code == 200
        assert loose_modes(data) == []
    finally:
        proc.stop()
