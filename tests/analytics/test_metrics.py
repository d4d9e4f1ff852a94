"""GET /metrics after real requests through the in-process gateway (upstreams mocked by respx)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from analytics import metrics
from routing.models import ModelMapping
from routing.rules.rates import Rate
from routing.upstreams.health import health
from tests.routing.helpers import chat_reply, sse_response

CHAT = "/v1/chat/completions"
TOKEN = "metrics-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USAGE = {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}


@pytest.fixture(autouse=True)
def metrics_settings(settings):
    from django.core.cache import cache

    cache.clear()  # rate-limit counts
    settings.RECORD_FLUSH_SECONDS = 0.02  # the writer's listener drives the counters
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = (ipaddress.ip_network("127.0.0.1"),)  # not the client 10.1.2.3


def chat(model: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}]}


def samples(text: str) -> dict:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(gateway) -> dict:
    response = await gateway.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    return samples(response.text)


async def wait_for(gateway, name: str, expected: float, **labels: str) -> dict:
    """Scrape until the writer's listener has counted what we expect (the rows come later)."""
    deadline = time.monotonic() + 10
    while True:
        found = await scrape(gateway)
        if value(found, name, **labels) == expected:
            return found
        assert time.monotonic() < deadline, f"{name} {labels} is {value(found, name, **labels)}"
        await asyncio.sleep(0.02)


async def test_finished_requests_are_counted_with_labels_tokens_and_times(gateway, upstream):
    await ModelMapping.objects.acreate(pattern="metrics-count", replacement="llama-rewritten")
    upstream.post(CHAT).mock(
        side_effect=[
            httpx.Response(200, json=chat_reply("a", usage=USAGE)),
            httpx.Response(200, json=chat_reply("b", usage=USAGE)),
            httpx.Response(400, json={"error": {"message": "bad"}}),
        ]
    )
    models = ["metrics-count", "metrics-count", "metrics-refused"]
    statuses = [(await gateway.post(CHAT, json=chat(m))).status_code for m in models]
    assert statuses == [200, 200, 400]
    request = {"service": "openai", "kind": "chat", "endpoint": CHAT, "upstream": "default"}
    found = await wait_for(
        gateway, "llmproxy_requests_total", 1, **request, model="metrics-refused", status="400"
    )
    assert (
        value(found, "llmproxy_requests_total", **request, model="metrics-count", status="200") == 2
    )
    timed = {"model": "metrics-count", "upstream": "default"}
    assert value(found, "llmproxy_request_duration_seconds_count", **timed) == 2
    assert value(found, "llmproxy_request_duration_seconds_bucket", **timed, le="+Inf") == 2
    assert value(found, "llmproxy_time_to_first_token_seconds_count", **timed) == 2
    refused = {"model": "metrics-refused", "upstream": "default"}
    assert value(found, "llmproxy_request_duration_seconds_count", **refused) == 1
    assert value(found, "llmproxy_time_to_first_token_seconds_count", **refused) == 0
    assert value(found, "llmproxy_prompt_tokens_total", model="metrics-count") == 14
    assert value(found, "llmproxy_completion_tokens_total", model="metrics-count") == 10
    assert not any(dict(labels).get("model") == "llama-rewritten" for _, labels in found)


async def test_ollama_streams_are_counted_under_their_service(gateway, upstream):
    upstream.post(CHAT).mock(return_value=sse_response(["Hel", "lo"]))
    body = {"model": "metrics-ollama", "messages": [{"role": "user", "content": "Hi"}]}
    assert (await gateway.post("/api/chat", json=body)).status_code == 200
    labels = {"service": "ollama", "kind": "chat", "endpoint": "/api/chat"}
    labels["model"] = "metrics-ollama"
    found = await wait_for(
        gateway, "llmproxy_requests_total", 1, **labels, upstream="default", status="200"
    )
    timed = {"model": "metrics-ollama", "upstream": "default"}
    assert value(found, "llmproxy_time_to_first_token_seconds_count", **timed) == 1


async def test_a_cache_hit_is_counted(gateway, upstream, settings):
    settings.CACHE_ENABLED = True
    route = upstream.post(CHAT).respond(json=chat_reply("cached"))
    first = await gateway.post(CHAT, json=chat("metrics-cache"))
    labels = {"service": "openai", "kind": "chat", "endpoint": CHAT, "model": "metrics-cache"}
    ok = {**labels, "upstream": "default", "status": "200"}
    await wait_for(gateway, "llmproxy_requests_total", 1, **ok)  # written, cache row too
    second = await gateway.post(CHAT, json=chat("metrics-cache"))
    assert (first.headers["x-cache"], second.headers["x-cache"], route.call_count) == (
        "MISS",
        "HIT",
        1,
    )
    found = await wait_for(gateway, "llmproxy_cache_hits_total", 1, model="metrics-cache")
    assert value(found, "llmproxy_cache_hits_total", model="metrics-cache") == 1
    assert value(found, "llmproxy_requests_total", **ok) == 2


async def test_a_rate_limited_refusal_is_counted(gateway, upstream, settings):
    settings.RATE_LIMIT = Rate(1, 60)
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    before = value(await scrape(gateway), "llmproxy_rate_limited_total", service="openai")
    answers = [await gateway.post(CHAT, json=chat("metrics-limited")) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    found = await wait_for(gateway, "llmproxy_rate_limited_total", before + 1, service="openai")
    assert value(found, "llmproxy_rate_limited_total", service="openai") == before + 1
    refused = {"service": "openai", "kind": "chat", "endpoint": CHAT, "model": "", "upstream": ""}
    assert value(found, "llmproxy_requests_total", **refused, status="429") >= 1


async def test_an_upstream_in_cooldown_is_down(gateway, settings):
    settings.COOLDOWN_FAILURES = 1
    found = await scrape(gateway)
    assert value(found, "llmproxy_upstream_up", upstream="default") == 1
    health.failed("default", "x")
    found = await scrape(gateway)
    assert value(found, "llmproxy_upstream_up", upstream="default") == 0
    assert value(found, "llmproxy_upstream_failures", upstream="default") == 1


async def test_requests_in_flight_are_counted_while_they_wait_for_the_upstream(gateway, upstream):
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=chat_reply("late"))

    upstream.post(CHAT).mock(side_effect=slow)
    pending = asyncio.create_task(gateway.post(CHAT, json=chat("metrics-inflight")))
    found = await wait_for(gateway, "llmproxy_requests_in_flight", 1)
    assert value(found, "llmproxy_upstream_in_flight", upstream="default") == 1
    release.set()
    assert (await pending).status_code == 200
    found = await scrape(gateway)
    assert value(found, "llmproxy_requests_in_flight") == 0


async def test_no_key_or_header_reaches_the_metrics(gateway, upstream, settings):
    settings.OPENAI_API_KEY = "sk-upstream-secret-1"
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    headers = {"Authorization": "Bearer sk-client-secret-2", "X-Api-Key": "header-secret-3"}
    await gateway.post(CHAT, json=chat("metrics-secrets"), headers=headers)
    await wait_for(
        gateway,
        "llmproxy_requests_total",
        1,
        service="openai",
        kind="chat",
        endpoint=CHAT,
        model="metrics-secrets",
        upstream="default",
        status="200",
    )
    text = (await gateway.get("/metrics", headers=AUTH)).text
    for secret in ("sk-upstream-secret-1", "sk-client-secret-2", "header-secret-3", "10.1.2.3"):
        assert secret not in text


# --- protection ---------------------------------------------------------------------------
async def test_an_address_not_allowed_needs_the_token(gateway):
    missing = await gateway.get("/metrics")
    wrong = await gateway.get("/metrics", headers={"Authorization": "Bearer nope"})
    right = await gateway.get("/metrics", headers=AUTH)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    error = missing.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "authentication_error"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.headers["content-type"].startswith("text/plain")
    assert "llmproxy_requests_in_flight" in right.text


async def test_without_a_token_only_allowed_addresses_are_served(gateway, settings):
    settings.METRICS_TOKEN = ""
    refused = await gateway.get("/metrics", headers=AUTH)
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "permission_error"
    settings.METRICS_ALLOW = (ipaddress.ip_network("10.0.0.0/8"),)
    assert (await gateway.get("/metrics")).status_code == 200


async def test_a_forwarded_address_counts_only_from_a_trusted_proxy(gateway, settings):
    settings.METRICS_TOKEN = ""
    spoofed = {"X-Forwarded-For": "127.0.0.1"}
    assert (await gateway.get("/metrics", headers=spoofed)).status_code == 403
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.1.2.3"),)
    assert (await gateway.get("/metrics", headers=spoofed)).status_code == 200


# --- the parts around the scrape -----------------------------------------------------------
def test_model_names_past_the_cap_share_one_label(monkeypatch):
    monkeypatch.setattr(metrics, "_models", {f"m{i}" for i in range(metrics.MAX_MODELS)})
    assert metrics.model_label("m1") == "m1"
    assert metrics.model_label("one-too-many") == metrics.OTHER_MODEL


def test_the_workers_directory_starts_empty_and_forgets_dead_workers(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))  # restored afterwards
    (tmp_path / "counter_1.db").write_bytes(b"old run")
    assert metrics.use_multiprocess_dir(tmp_path / "unused") == tmp_path
    assert list(tmp_path.iterdir()) == []
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    metrics.forget_dead_workers(str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == [f"gauge_livesum_{os.getpid()}.db"]
