"""The real openai client, with its default retries (max_retries=2), against a gateway whose
only upstream keeps failing: one client call never costs that upstream more than 3 requests,
whatever the failure, because the gateway says on its error answers whether the client
should try again (x-should-retry) and rests upstreams that ask for a pause."""

from __future__ import annotations

import httpx
import ollama
import openai
import pytest

from tests.e2e.procs import free_port, start_fake, start_gateway

pytestmark = pytest.mark.e2e

# Each failure gets its own upstream entry (the same fake server), so that one's cooldown or
# pause does not spill over to the next case.
FAILURES = {
    "fails-500": "echo+status:500",
    "fails-502": "echo+status:502",
    "fails-503": "echo+status:503",
    "fails-503-pause": "echo+status:503+retry-after:1",
    "fails-429-pause": "echo+status:429+retry-after:1",
    "fails-429": "echo+status:429+retry-after:",
    "fails-silent": "hang",
}


@pytest.fixture(scope="module")
def lone(e2e_dir):
    fake, fake_url = start_fake(e2e_dir, "lone")
    lines = ["upstreams:"]
    lines += [f"  - {{name: {name}, url: {fake_url!r}}}" for name in FAILURES]
    lines += ["routes:"]
    lines += [
        f"  - {{match: {{model: {name}}}, route: {{upstream: {name}, model: {model!r}}}}}"
        for name, model in FAILURES.items()
    ]
    routes = e2e_dir / "lone-routes.yaml"
    routes.write_text("\n".join(lines) + "\n")
    gateway, url = start_gateway(e2e_dir, fake_url, ROUTES_CONFIG=str(routes), REQUEST_TIMEOUT="1")
    yield fake_url, url
    gateway.stop()
    fake.stop()


def upstream_requests(fake_url: str) -> int:
    return httpx.get(f"{fake_url}/_fake/stats").json()["requests"]


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("fails-500", 500),
        ("fails-502", 502),
        ("fails-503", 503),
        ("fails-503-pause", 503),
        ("fails-429-pause", 429),
        ("fails-429", 429),
        ("fails-silent", 504),
    ],
)
def test_one_client_call_costs_a_lone_failing_upstream_at_most_three_requests(lone, model, status):
    fake_url, url = lone
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="anything", timeout=30)
    assert client.max_retries == 2  # the SDK's default, which we do not touch
    before = upstream_requests(fake_url)
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == status
    attempts = upstream_requests(fake_url) - before
    print(f"{model}: {attempts} upstream requests for one client call")
    assert 1 <= attempts <= 3
    if status == 500:
        assert attempts == 1  # a 500 is the server's answer: never run twice


@pytest.fixture(scope="module")
def burst(e2e_dir):
    """A gateway whose only upstream has just been put in cooldown by a burst of errors."""
    fake, fake_url = start_fake(e2e_dir, "burst", models="tiny-model")
    ollama_port = free_port()
    gateway, url = start_gateway(
        e2e_dir,
        fake_url,
        COOLDOWN_FAILURES="2",
        COOLDOWN_SECONDS="60",
        MAX_ATTEMPTS="1",
        OLLAMA_PORT=str(ollama_port),
        OLLAMA_UPSTREAM_URL=f"http://127.0.0.1:{free_port()}",
    )
    for _ in range(2):
        body = {"model": "echo+status:502", "messages": [{"role": "user", "content": "hi"}]}
        assert httpx.post(f"{url}/v1/chat/completions", json=body).status_code == 502
    yield url, f"http://127.0.0.1:{ollama_port}"
    gateway.stop()
    fake.stop()


def test_model_lists_still_answer_while_the_only_upstream_rests(burst):
    url, ollama_url = burst
    assert 'llmproxy_upstream_up{upstream="default"} 0.0' in httpx.get(f"{url}/metrics").text
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="anything", max_retries=0)
    assert "tiny-model" in [m.id for m in client.models.list()]
    assert "tiny-model" in [m.model for m in ollama.Client(host=ollama_url).list().models]
    # and chat still goes to the resting upstream, since it is the only one
    reply = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "still here"}]
    )
    assert reply.choices[0].message.content == "still here"
