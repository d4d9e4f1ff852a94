"""Upstreams that die, reset, hang or talk nonsense: the client always gets a well-formed
error in its own API's shape, and the request's row says what went wrong."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.procs import start_gateway
from tests.reliability.helpers import hex_id, query, wait_until
from tests.reliability.rude_upstream import RudeUpstream

pytestmark = pytest.mark.e2e

ROUTES = """
upstreams:
  - {name: rude, url: "RUDE"}
routes:
  - {name: rude, match: {model: "/rude-.*/"}, route: {upstream: rude}}
"""
FAULTS = {  # model -> what the upstream does (rude-*: tests/reliability/rude_upstream.py)
    "rude-reset": "resets before the first byte",
    "rude-reset-after": "resets mid-reply",
    "rude-die": "closes mid-reply",
    "rude-stall": "goes silent mid-reply",
    "rude-bad-json": "sends broken JSON",
    "rude-garbage": "answers something that is not HTTP",
    "hang": "never answers",
}
STREAM_FAULTS = {  # the scripted fake's own stream faults
    "echo+drop-after:2": "drops the connection after two events",
    "echo+hang-after:2": "goes silent after two events",
    "echo+malformed": "sends an event that is not JSON",
}


@pytest.fixture(scope="module")
def faulty(e2e_dir, fake):
    rude = RudeUpstream()
    routes = e2e_dir / "faults-routes.yaml"
    routes.write_text(ROUTES.replace("RUDE", rude.start()))
    proc, url = start_gateway(
        e2e_dir, fake, ROUTES_CONFIG=str(routes), REQUEST_TIMEOUT="0.5", RECORD_FLUSH_SECONDS="0.05"
    )
    yield proc, url
    proc.stop()
    rude.stop()


def ask(url: str, api: str, model: str, stream: bool) -> httpx.Response:
    messages = [{"role": "user", "content": "tell me something"}]
    path = "/v1/chat/completions" if api == "openai" else "/api/chat"
    body = {"model": model, "messages": messages, "stream": stream}
    return httpx.post(url + path, json=body, timeout=30)


def told_error(api: str, stream: bool, response: httpx.Response) -> str | None:
    """The error message the client was given, if it came in its API's shape."""
    if response.status_code != 200:
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            return None
        if api == "ollama":
            return error if isinstance(error, str) and error else None
        well_formed = isinstance(error, dict) and isinstance(error.get("type"), str)
        return error.get("message") or None if well_formed else None
    if not stream:
        return None  # a failure answered as a success
    try:
        if api == "ollama":
            assert response.headers["content-type"] == "application/x-ndjson"
            last = [json.loads(line) for line in response.text.splitlines()][-1]
            return last.get("error") if isinstance(last.get("error"), str) else None
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
        events = [json.loads(d) for d in data if d != "[DONE]"]
    except (AssertionError, ValueError, IndexError):
        return None  # not a well-formed stream
    error = events[-1].get("error") if events else None
    return error.get("message") if isinstance(error, dict) else None


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("api", ["openai", "ollama"])
def test_every_upstream_fault_reaches_the_client_as_a_proper_error(faulty, figure, api, stream):
    proc, url = faulty
    faults = {**FAULTS, **(STREAM_FAULTS if stream else {})}

    def one(model: str) -> tuple[str, httpx.Response, float]:
        started = time.monotonic()
        response = ask(url, api, model, stream)
        return model, response, time.monotonic() - started

    with ThreadPoolExecutor(len(faults)) as pool:
        answers = list(pool.map(one, faults))
    seen = {model: (r, told_error(api, stream, r)) for model, r, _ in answers}
    slowest = max(took for *_, took in answers)

    def final_rows() -> dict[str, dict] | None:
        ids = {hex_id(r): model for model, (r, _) in seen.items()}
        rows = query(proc, "SELECT * FROM recording_requestlog WHERE state != 'in_progress'")
        found = {ids[r["id"]]: r for r in rows if r["id"] in ids}
        return found if len(found) == len(ids) else None

    rows = wait_until(final_rows, 5) or {}
    untold = [
        f"{faults[m]}: {r.status_code} {r.text[-200:]!r}" for m, (r, e) in seen.items() if not e
    ]
    unrecorded = [
        f"{faults[m]}: {rows.get(m)}" for m in faults if not recorded_as_error(rows.get(m))
    ]
    n = len(faults)
    results = [
        figure(name, value, unit, threshold, ok)
        for name, value, unit, threshold, ok in [
            ("faults without a well-formed error", len(untold), f"of {n}", "= 0", not untold),
            ("rows not recorded as errors", len(unrecorded), f"of {n}", "= 0", not unrecorded),
            ("slowest error answer", slowest * 1000, "ms", "< 30000 (timeout 0.5 s)", slowest < 30),
        ]
    ]
    assert all(results), untold + unrecorded


def recorded_as_error(row: dict | None) -> bool:
    return bool(row and row["state"] == "error" and row["error"] and (row["status"] or 0) >= 400)
