"""Retries that never multiply the load on a struggling upstream: what is retried, what rests
an upstream, what counts against its health, and what the client is told about retrying."""

from __future__ import annotations

import asyncio
import time
import uuid
from email.utils import formatdate

import httpx
import pytest
import respx

from routing.upstreams.attempts import retry_after
from routing.upstreams.health import adopt_shared, health, publish, read_shared
from tests.routing.helpers import chat_reply

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
A, B = "http://a.test", "http://b.test"
REDIS = "redis://127.0.0.1:6379/7"


@pytest.fixture
def pair(settings):
    settings.DEFAULT_UPSTREAM = f"{A},{B}"
    settings.DEFAULT_STRATEGY = "fallback"
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post(f"{A}{CHAT}"), mock.post(f"{B}{CHAT}")


@pytest.fixture
def lone():
    with respx.mock(base_url="http://upstream.test") as mock:
        yield mock.post(CHAT)


def status_of(name: str) -> str:
    return {s["upstream"]: s["status"] for s in health.snapshot()}[name]


async def test_a_500_is_passed_on_at_once_and_not_tried_elsewhere(gateway, pair):
    a, b = pair
    a.respond(500, json={"error": {"message": "tools must be a list"}})
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "tools must be a list"
    assert (a.call_count, b.call_count) == (1, 0)
    assert response.headers["x-should-retry"] == "false"


async def test_quick_500s_and_4xx_show_an_upstream_alive_and_never_rest_it(gateway, lone, settings):
    settings.COOLDOWN_FAILURES = 2
    lone.respond(500, json={"error": {"message": "bad tool call"}})
    for _ in range(4):
        assert (await gateway.post(CHAT, json=HELLO)).status_code == 500
    lone.respond(400, json={"error": {"message": "bad temperature"}})
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 400
    assert lone.call_count == 5
    assert status_of("default") == "ok"


async def test_a_500_from_a_probe_brings_a_resting_upstream_back(gateway, lone, settings):
    settings.COOLDOWN_FAILURES = 1
    settings.COOLDOWN_SECONDS = 0.05
    settings.MAX_ATTEMPTS = 1
    lone.respond(502, text="bad gateway")
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 502
    assert status_of("default") == "cooldown"
    await asyncio.sleep(0.06)
    lone.respond(500, json={"error": {"message": "your mistake"}})
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 500
    assert status_of("default") == "ok"


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_a_lone_upstream_saying_try_again_is_retried_then_the_client_is_told_not_to(
    gateway, lone, settings, status
):
    settings.MAX_ATTEMPTS = 3
    lone.respond(status, json={"error": {"message": "warming up"}})
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == status
    assert lone.call_count == 3
    assert response.headers["x-should-retry"] == "false"


async def test_a_single_try_of_a_retriable_status_tells_the_client_to_retry(
    gateway, lone, settings
):
    settings.MAX_ATTEMPTS = 1
    lone.respond(502, text="bad gateway")
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 502 and lone.call_count == 1
    assert response.headers["x-should-retry"] == "true"


async def test_a_fallback_that_also_fails_tells_the_client_not_to_retry(gateway, pair, settings):
    settings.MAX_ATTEMPTS = 2
    a, b = pair
    a.respond(502, text="down")
    b.respond(400, json={"error": {"message": "bad request"}})
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 400
    assert response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("status", [429, 503])
async def test_a_lone_upstream_asking_for_a_pause_is_not_retried_and_rests_for_everyone(
    gateway, lone, settings, status
):
    lone.respond(status, headers={"Retry-After": "7"}, json={"error": {"message": "slow down"}})
    started = time.monotonic()
    response = await gateway.post(CHAT, json=HELLO)
    assert time.monotonic() - started < 5  # answered at once, not after a wait
    assert response.status_code == status and lone.call_count == 1
    assert response.headers["Retry-After"] == "7"
    assert response.headers["x-should-retry"] == "true"
    assert status_of("default") == "cooldown"

    again = await gateway.post(CHAT, json=HELLO)  # another request during the pause
    assert lone.call_count == 1  # answered by the gateway, nothing sent
    assert again.status_code == status
    assert again.json()["error"]["code"] == "upstream_resting"
    assert 6 <= int(again.headers["Retry-After"]) <= 7
    assert again.headers["x-should-retry"] == "true"


async def test_after_its_pause_an_upstream_is_asked_again(gateway, lone):
    lone.respond(429, headers={"Retry-After": "0.2"}, json={"error": {"message": "busy"}})
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 429
    await asyncio.sleep(0.25)
    lone.respond(json=chat_reply("rested"))
    response = await gateway.post(CHAT, json=HELLO)
    assert response.json()["choices"][0]["message"]["content"] == "rested"
    assert lone.call_count == 2


async def test_a_pause_sends_the_request_to_another_target_and_the_next_ones_skip_it(
    gateway, pair, recorded
):
    a, b = pair
    a.respond(429, headers={"Retry-After": "30"}, json={"error": {"message": "rate limited"}})
    b.respond(json=chat_reply("from b"))
    for _ in range(3):
        response = await gateway.post(CHAT, json=HELLO)
        assert response.json()["choices"][0]["message"]["content"] == "from b"
    assert (a.call_count, b.call_count) == (1, 3)


async def test_a_429_without_retry_after_goes_to_another_target_and_counts_nothing(
    gateway, pair, settings
):
    settings.COOLDOWN_FAILURES = 1
    a, b = pair
    a.respond(429, json={"error": {"message": "busy"}})
    b.respond(json=chat_reply("from b"))
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
    assert (a.call_count, b.call_count) == (1, 1)
    assert status_of("default") == "ok"


def test_retry_after_is_read_as_seconds_or_as_a_date():
    now = time.time()
    assert retry_after({"Retry-After": "7"}) == 7
    assert retry_after({"retry-after": "1.5"}) == 1.5
    assert 28 <= retry_after({"Retry-After": formatdate(now + 30, usegmt=True)}, now) <= 30
    assert retry_after({"Retry-After": formatdate(now - 30, usegmt=True)}, now) == 0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None


def test_a_rest_is_capped_so_a_huge_retry_after_cannot_silence_an_upstream_for_hours():
    health.rest("capped", 86400, 429, "quota")
    assert health.resting("capped") <= 120


async def test_rests_are_shared_with_other_processes_through_redis(settings):
    settings.REDIS_URL = REDIS
    name = f"shared-{uuid.uuid4().hex}"
    until = time.time() + 30
    publish(name, until, 429)
    from routing.core.shared_redis import close_redis, redis_client

    try:
        for _ in range(50):  # published in the background
            if name in (rests := await read_shared("llmproxy:rest:")):
                break
            await asyncio.sleep(0.02)
        assert name in rests
        health.states.clear()  # another process, which knew nothing
        adopt_shared({}, {name: rests[name]}, time.time())
        assert not health.ready(name)
        assert health.state(name).rest_status == 429
        assert 29 <= health.resting(name) <= 30
    finally:
        await redis_client().delete(f"llmproxy:rest:{name}")
        await close_redis()


async def test_a_connection_refused_is_retried_and_counted_once(gateway, lone, settings):
    settings.MAX_ATTEMPTS = 3
    settings.COOLDOWN_FAILURES = 2
    lone.mock(side_effect=httpx.ConnectError("refused"))
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 502 and lone.call_count == 3
    assert response.headers["x-should-retry"] == "false"
    assert health.state("default").failures == 1
