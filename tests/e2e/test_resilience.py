"""Resilience with real processes: several fake upstreams behind one route each, one of them
dead, one refusing with 429, one silent before its first byte, one dying mid-stream."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.procs import free_port, start_fake, start_gateway
from tests.e2e.test_recording import wait_for_row

pytestmark = pytest.mark.e2e

ROUTES = """
upstreams:
  - {name: good, url: "GOOD"}
  - {name: other, url: "OTHER"}
  - {name: dead, url: "DEAD"}
  - {name: revived, url: "REVIVED"}
  - {name: narrow, url: "GOOD", max_concurrency: 1, timeout: 10}
  - {name: limited, url: "OTHER"}
  - {name: silent, url: "OTHER"}
  - {name: dropping, url: "OTHER"}
routes:
  - match: {model: via-dead}
    route: {targets: [{upstream: dead}, {upstream: good}]}
  - match: {model: via-429}
    route: {targets: [{upstream: limited, model: "echo+status:429+retry-after:"}, {upstream: good}]}
  - match: {model: via-hang}
    route: {targets: [{upstream: silent, model: hang}, {upstream: good}]}
  - match: {model: via-drop}
    route: {targets: [{upstream: dropping, model: "echo+drop-after:2"}, {upstream: good}]}
  - match: {model: weighted}
    route:
      strategy: weighted
      targets: [{upstream: good, weight: 1}, {upstream: other, weight: 3}]
  - match: {model: via-revived}
    route: {targets: [{upstream: revived, model: revived-model}, {upstream: good}]}
  - match: {model: slow-narrow}
    route: {upstream: narrow, model: "echo+delay:1500"}
"""


@pytest.fixture(scope="module")
def fleet(e2e_dir):
    procs = {}
    urls = {}
    for name in ("good", "other"):
        procs[name], urls[name] = start_fake(e2e_dir, name)
    revived_port = free_port()
    routes = e2e_dir / "resilience-routes.yaml"
    routes.write_text(
        ROUTES.replace("GOOD", urls["good"])
        .replace("OTHER", urls["other"])
        .replace("DEAD", f"http://127.0.0.1:{free_port()}")
        .replace("REVIVED", f"http://127.0.0.1:{revived_port}")
    )
    gateway, url = start_gateway(
        e2e_dir,
        urls["good"],
        ROUTES_CONFIG=str(routes),
        REQUEST_TIMEOUT="1",
        COOLDOWN_FAILURES="2",
        COOLDOWN_SECONDS="1.5",
        QUEUE_TIMEOUT="0.3",
        RECORD_FLUSH_SECONDS="0.05",
    )
    yield {"gateway": gateway, "url": url, "revived_port": revived_port, **urls}
    gateway.stop()
    for proc in procs.values():
        proc.stop()


def chat(url: str, model: str, stream: bool = False, timeout: float = 10) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "ping"}], "stream": stream}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=timeout)


def answered_by(response: httpx.Response) -> str:
    return response.json()["system_fingerprint"]


def attempts(fleet, response: httpx.Response) -> list[tuple[str, int]]:
    row = wait_for_row(fleet["gateway"], response.headers["x-request-id"])
    return [(a["upstream"], a["status"]) for a in json.loads(row["attempts"] or "[]")]


@pytest.mark.parametrize(
    ("model", "failed"),
    [("via-429", ("limited", 429)), ("via-hang", ("silent", 504))],
    ids=["429", "hang-before-first-byte"],
)
def test_a_failing_target_hands_over_and_the_attempts_are_recorded(fleet, model, failed):
    for stream in (False, True):  # two failures: the cooldown starts after this
        response = chat(fleet["url"], model, stream)
        assert response.status_code == 200
        if not stream:
            assert answered_by(response) == "good"
        assert attempts(fleet, response) == [failed, ("good", 200)]


def test_a_dead_upstream_rests_after_failures_and_costs_nothing(fleet):
    first = chat(fleet["url"], "via-dead")
    assert answered_by(first) == "good"
    assert attempts(fleet, first) == [("dead", 502), ("good", 200)]
    chat(fleet["url"], "via-dead")  # the second failure puts it in cooldown
    rested = chat(fleet["url"], "via-dead")
    assert answered_by(rested) == "good"
    assert attempts(fleet, rested) == []  # one try only: straight to the good upstream


def test_a_stream_that_dies_after_its_first_bytes_is_not_retried(fleet):
    before = httpx.get(f"{fleet['good']}/_fake/stats").json()["requests"]
    with httpx.stream(
        "POST",
        f"{fleet['url']}/v1/chat/completions",
        json={
            "model": "via-drop",
            "messages": [{"role": "user", "content": "a b c d e"}],
            "stream": True,
        },
        timeout=10,
    ) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    content = "".join(
        (c["delta"].get("content") or "") for e in events[:-1] for c in json.loads(e)["choices"]
    )
    assert content and "a b c d e".startswith(content)  # some bytes reached the client
    assert "error" in json.loads(events[-1]) and "[DONE]" not in events
    assert httpx.get(f"{fleet['good']}/_fake/stats").json()["requests"] == before
    row = wait_for_row(fleet["gateway"], response.headers["x-request-id"])
    assert row["upstream"] == "dropping" and row["state"] == "error"


def test_weights_are_respected_over_many_requests(fleet):
    picks = Counter(answered_by(chat(fleet["url"], "weighted")) for _ in range(400))
    assert picks["good"] + picks["other"] == 400
    assert abs(picks["other"] - 300) < 4 * (400 * 0.75 * 0.25) ** 0.5  # four sigmas


def test_cooldown_then_one_probe_finds_the_upstream_back(fleet, e2e_dir):
    for _ in range(2):
        assert answered_by(chat(fleet["url"], "via-revived")) == "good"
    status = httpx.get(f"{fleet['url']}/v1/models").json()
    assert "revived-model" not in {m["id"] for m in status["data"]}
    proc, revived = start_fake(
        e2e_dir, "revived", port=fleet["revived_port"], models="revived-model"
    )
    try:
        deadline = time.monotonic() + 15
        while answered_by(probe := chat(fleet["url"], "via-revived")) == "good":
            assert time.monotonic() < deadline, "the revived upstream was never probed"
            time.sleep(0.1)
        assert attempts(fleet, probe) == []
        # While it rested nothing was sent there: the probe is the first request it saw.
        assert httpx.get(f"{revived}/_fake/stats").json()["requests"] == 1
        models = {m["id"] for m in httpx.get(f"{fleet['url']}/v1/models").json()["data"]}
        assert "revived-model" in models
    finally:
        proc.stop()


def test_past_the_concurrency_cap_a_request_gets_a_quick_503(fleet):
    slow: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: slow.append(chat(fleet["url"], "slow-narrow")))
    worker.start()
    time.sleep(0.3)
    refused = chat(fleet["url"], "slow-narrow")
    still_running = worker.is_alive()  # refused before the slow reply ended: no hang
    worker.join()
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["type"] and still_running
    assert slow[0].status_code == 200
