"""The real openai client, with its default retries (max_retries=2), against a gateway whose
only upstream keeps failing: one client call never costs that upstream more than 3 requests,
whatever the failure, because the gateway says on its error answers whether the client
should try again (x-should-retry) and rests upstreams that ask for a pause."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.e2e.procs import start_fake, start_gateway

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
