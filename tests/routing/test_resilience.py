"""Several targets: retries and fallback before the first byte, cooldown, backpressure."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from routing.models import Route, RouteTarget, Upstream
from routing.upstreams.health import check_actively as health_check_loop
from routing.upstreams.health import health
from tests.routing.helpers import chat_reply, sse_contents, sse_response

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
A, B = "http://a.test", "http://b.test"


@pytest.fixture
def pair(settings):
    settings.DEFAULT_UPSTREAM = f"{A},{B}"
    settings.DEFAULT_STRATEGY = "fallback"
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post(f"{A}/v1/chat/completions"), mock.post(f"{B}/v1/chat/completions")


async def test_a_5xx_moves_the_request_to_the_next_target_and_both_tries_are_recorded(
    gateway, pair, recorded
):
    a, b = pair
    a.respond(503, json={"error": {"message": "loading model"}})
    b.respond(json=chat_reply("from b"))
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "from b"
    row = (await sync_to_async(recorded)())[0]
    assert row.upstream == "default-2" and row.status == 200
    assert [(t["upstream"], t["status"]) for t in row.attempts] == [
        ("default", 503),
        ("default-2", 200),
    ]
    assert "loading model" in row.attempts[0]["error"]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(429, json={"error": {"message": "busy"}}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("no first byte"),
    ],
    ids=["429", "connect", "first-byte-timeout"],
)
async def test_retryable_failures_fall_back(gateway, pair, failure):
    a, b = pair
    a.mock(side_effect=[failure])
    b.respond(json=chat_reply("saved"))
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 200 and b.call_count == 1


async def test_a_client_error_is_not_retried(gateway, pair):
    a, b = pair
    a.respond(400, json={"error": {"message": "bad temperature"}})
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 400 and not b.called


async def test_streams_fall_back_before_their_first_byte(gateway, pair):
    a, b = pair
    a.respond(502, text="bad gateway")
    b.mock(return_value=sse_response(["Hel", "lo"]))
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert response.status_code == 200
    assert sse_contents(response.text)[0] == "Hello"


async def test_attempts_are_bounded_by_max_attempts(gateway, pair, settings):
    settings.MAX_ATTEMPTS = 2
    settings.COOLDOWN_FAILURES = 10
    a, b = pair
    a.respond(502, text="down")
    b.respond(502, text="down too")
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 502
    assert a.call_count + b.call_count == 2


async def test_a_failing_upstream_rests_then_one_probe_brings_it_back(gateway, pair, settings):
    settings.COOLDOWN_FAILURES = 2
    settings.COOLDOWN_SECONDS = 0.3
    a, b = pair
    a.respond(503, text="crashed")
    b.respond(json=chat_reply("b"))
    for _ in range(4):
        assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
    assert a.call_count == 2  # each request counts once; after two, it is skipped
    assert {s["upstream"]: s["status"] for s in health.snapshot()}["default"] == "cooldown"
    await asyncio.sleep(0.35)
    a.respond(json=chat_reply("a is back"))
    reply = await gateway.post(CHAT, json=HELLO)
    assert reply.json()["choices"][0]["message"]["content"] == "a is back"
    assert {s["upstream"]: s["status"] for s in health.snapshot()}["default"] == "ok"


async def test_a_lone_upstream_in_cooldown_is_still_tried(gateway, settings):
    settings.MAX_ATTEMPTS = 1
    settings.COOLDOWN_FAILURES = 1
    with respx.mock(base_url="http://upstream.test") as mock:
        route = mock.post("/v1/chat/completions")
        route.respond(502, text="crashed")
        assert (await gateway.post(CHAT, json=HELLO)).status_code == 502
        assert health.snapshot()[0]["status"] == "cooldown"
        route.respond(json=chat_reply("back"))
        assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
        assert health.snapshot()[0]["status"] == "ok"


async def test_a_resting_target_is_skipped_while_another_answers(gateway, pair, settings):
    settings.COOLDOWN_FAILURES = 1
    a, b = pair
    a.respond(504, text="crashed")
    b.respond(json=chat_reply("b"))
    for _ in range(3):
        assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
    assert a.call_count == 1 and b.call_count == 3


@sync_to_async
def weighted_route(strategy: str) -> None:
    a = Upstream.objects.create(name="a", base_url=A)
    b = Upstream.objects.create(name="b", base_url=B)
    route = Route.objects.create(match_model="m", strategy=strategy)
    RouteTarget.objects.create(route=route, upstream=a, position=0, weight=1)
    RouteTarget.objects.create(route=route, upstream=b, position=1, weight=3, model="m-on-b")


async def test_route_targets_send_their_own_model_names_in_proportion(gateway):
    await weighted_route("weighted")
    with respx.mock() as mock:
        a = mock.post(f"{A}/v1/chat/completions").respond(json=chat_reply("a"))
        b = mock.post(f"{B}/v1/chat/completions").respond(json=chat_reply("b"))
        for _ in range(200):
            assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
    assert json.loads(b.calls.last.request.content)["model"] == "m-on-b"
    assert json.loads(a.calls.last.request.content)["model"] == "m"
    assert 120 <= b.call_count <= 180  # expected 150, sigma about 6


async def test_over_the_cap_a_request_waits_then_gets_a_quick_503(gateway, settings):
    settings.QUEUE_TIMEOUT = 0.2
    settings.MAX_ATTEMPTS = 1
    a = await sync_to_async(Upstream.objects.create)(name="a", base_url=A, max_concurrency=1)
    await sync_to_async(Route.objects.create)(match_model="m", upstream=a)
    release = asyncio.Event()

    async def slow(request):
        await release.wait()
        return httpx.Response(200, json=chat_reply("slow"))

    with respx.mock() as mock:
        mock.post(f"{A}/v1/chat/completions").mock(side_effect=slow)
        first = asyncio.create_task(gateway.post(CHAT, json=HELLO))
        await asyncio.sleep(0.05)
        second = await gateway.post(CHAT, json=HELLO)
        assert second.status_code == 503 and second.headers["Retry-After"] == "1"
        assert second.json()["error"]["code"]
        release.set()
        assert (await first).status_code == 200


async def test_active_checks_rest_a_failing_upstream_and_bring_it_back(settings, transactional_db):
    settings.HEALTH_CHECK_SECONDS = 0.02
    settings.COOLDOWN_FAILURES = 2
    with respx.mock(base_url="http://upstream.test") as mock:
        models = mock.get("/v1/models").respond(503)
        task = asyncio.create_task(health_check_loop())
        try:
            while models.call_count < 3:
                await asyncio.sleep(0.01)
            assert health.snapshot()[0]["status"] == "cooldown"
            assert "health check: 503" in health.snapshot()[0]["last_error"]
            models.respond(json={"object": "list", "data": []})
            seen = models.call_count
            while models.call_count < seen + 2:
                await asyncio.sleep(0.01)
            assert health.snapshot()[0]["status"] == "ok"
        finally:
            task.cancel()
