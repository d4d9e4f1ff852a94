"""GET /metrics of real gateway processes: one worker, and two workers summed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.procs import Process, base_env, free_port, start_gateway

pytestmark = pytest.mark.e2e
REDIS = "redis://127.0.0.1:6379/7"
TOKEN = "e2e-metrics-token"
USER = [{"role": "user", "content": "hello metrics"}]


def scrape(url: str, **headers: str) -> list:
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def total(samples: list, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def wait_for(url: str, name: str, expected: float, headers: dict, **labels: str) -> list:
    """Scrape until the rows are written and counted (every RECORD_FLUSH_SECONDS)."""
    deadline = time.monotonic() + 15
    while True:
        samples = scrape(url, **headers)
        if total(samples, name, **labels) == expected:
            return samples
        assert time.monotonic() < deadline, f"{name} is {total(samples, name, **labels)}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def metered(e2e_dir, fake):
    """A gateway that wants the token even from loopback."""
    proc, url = start_gateway(
        e2e_dir, fake, RECORD_FLUSH_SECONDS="0.05", METRICS_TOKEN=TOKEN, METRICS_ALLOW=""
    )
    yield url
    proc.stop()


def test_a_real_gateway_counts_requests_tokens_and_times(metered):
    import openai

    client = openai.OpenAI(base_url=f"{metered}/v1", api_key="sk-e2e-secret", max_retries=0)
    replies = [
        client.chat.completions.create(model="echo+words:5", messages=USER) for _ in range(3)
    ]
    for _ in range(2):
        stream = client.chat.completions.create(model="echo+chunk:3", messages=USER, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    request = {"service": "openai", "endpoint": "/v1/chat/completions", "upstream": "default"}
    samples = wait_for(metered, "llmproxy_requests_total", 2, auth, **request, model="echo+chunk:3")
    ok = {**request, "status": "200"}
    assert total(samples, "llmproxy_requests_total", **ok, model="echo+words:5") == 3
    whole = {"model": "echo+words:5", "upstream": "default"}
    assert total(samples, "llmproxy_request_duration_seconds_count", **whole) == 3
    assert total(samples, "llmproxy_completion_tokens_total", model="echo+words:5") == sum(
        r.usage.completion_tokens for r in replies
    )
    streamed = {"model": "echo+chunk:3", "upstream": "default"}
    assert total(samples, "llmproxy_time_to_first_token_seconds_count", **streamed) == 2
    buckets = [
        s.value
        for s in samples
        if s.name == "llmproxy_time_to_first_token_seconds_bucket"
        and streamed.items() <= s.labels.items()
    ]
    assert len(buckets) == 16 and buckets == sorted(buckets) and buckets[-1] == 2
    assert total(samples, "llmproxy_upstream_up", upstream="default") == 1
    assert not any("sk-e2e-secret" in str(s.labels) for s in samples)


def test_a_real_gateway_refuses_a_scrape_without_its_token(metered):
    refused = httpx.get(f"{metered}/metrics", timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"


def start_two_workers(e2e_dir: Path, fake: str) -> tuple[Process, str]:
    port = free_port()
    data = e2e_dir / f"metrics-workers-{port}"
    data.mkdir()
    env = base_env(data, DEFAULT_UPSTREAM=fake, REDIS_URL=REDIS, RECORD_FLUSH_SECONDS="0.05")
    proc = Process(["runproxy", "--port", str(port), "--workers", "2"], env, data / "gateway.log")
    url = f"http://127.0.0.1:{port}"
    proc.wait_until_ready(f"{url}/health", timeout=60)
    return proc, url


def counting_workers(proc: Process, url: str) -> int:
    """Workers that have counted a request: each writes its own counter file."""
    port = url.rsplit(":", 1)[1]
    return len(list((Path(proc.env["DATA_DIR"]) / "metrics" / port).glob("counter_*.db")))


def test_two_workers_add_up_whichever_answers_the_scrape(e2e_dir, fake):
    proc, url = start_two_workers(e2e_dir, fake)
    try:

        def one(i: int) -> int:
            body = {"model": "echo+words:2", "messages": USER}
            return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).status_code

        sent = 0
        labels = {"model": "echo+words:2", "status": "200"}
        while sent < 100 and (sent == 0 or counting_workers(proc, url) < 2):
            with ThreadPoolExecutor(8) as pool:  # new connections: the workers share them
                assert set(pool.map(one, range(20))) == {200}
            sent += 20
            wait_for(url, "llmproxy_requests_total", sent, {}, **labels)
        assert counting_workers(proc, url) == 2
        for _ in range(8):  # a new connection each time: either worker answers
            samples = scrape(url)
            assert total(samples, "llmproxy_requests_total", **labels) == sent
            assert total(samples, "llmproxy_request_duration_seconds_count") == sent
        in_flight = [s for s in samples if s.name == "llmproxy_requests_in_flight"]
        assert [s.labels for s in in_flight] == [{}]  # one figure for the gateway, not per pid
        files = list((Path(proc.env["DATA_DIR"]) / "metrics").rglob("*"))
        assert files and all(f.stat().st_mode & 0o077 == 0 for f in files)  # the owner's alone
    finally:
        proc.stop()
