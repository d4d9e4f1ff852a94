"""Model lists while upstreams rest: a resting upstream is asked when no other answers, the
aliases are listed (and said to be all there is) when nobody answers, and never a 5xx for an
upstream that was not asked."""

from __future__ import annotations

import httpx
import pytest
import respx

from routing.models import Route
from routing.upstreams.catalog import ALIASES_ONLY
from routing.upstreams.health import health

A, B = "http://a.test", "http://b.test"
OLLAMA = "http://ollama.test"


def rest(name: str) -> None:
    health.state(name).cooldown_until = 4e9  # far in the future


def model_list(*names: str) -> dict:
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 1} for n in names]}


@pytest.fixture
def pair(settings):
    settings.DEFAULT_UPSTREAM = f"{A},{B}"
    settings.OLLAMA_UPSTREAM_URL = OLLAMA
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{OLLAMA}/api/tags").mock(side_effect=httpx.ConnectError("no ollama"))
        yield mock.get(f"{A}/v1/models"), mock.get(f"{B}/v1/models")


async def test_a_lone_resting_upstream_is_asked_for_its_models(gateway, upstream):
    listing = upstream.get("/v1/models").respond(json=model_list("qwen"))
    rest("default")
    response = await gateway.get("/v1/models")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["qwen"]
    assert "notice" not in response.json()
    assert listing.call_count == 1


async def test_a_resting_upstream_is_not_asked_while_another_answers(gateway, pair):
    a, b = pair
    a.respond(json=model_list("from-a"))
    b.respond(json=model_list("from-b"))
    rest("default-2")
    response = await gateway.get("/v1/models")
    assert [m["id"] for m in response.json()["data"]] == ["from-a"]
    assert not b.called


async def test_a_resting_upstream_is_asked_when_the_others_fail(gateway, pair):
    a, b = pair
    a.mock(side_effect=httpx.ConnectError("down"))
    b.respond(json=model_list("from-b"))
    rest("default-2")
    response = await gateway.get("/v1/models")
    assert [m["id"] for m in response.json()["data"]] == ["from-b"]


async def test_when_nobody_answers_the_aliases_are_listed_and_said_to_be_all(gateway, pair):
    a, b = pair
    a.mock(side_effect=httpx.ConnectError("down"))
    b.respond(503)
    rest("default")
    await Route.objects.acreate(match_model="gpt-4")
    response = await gateway.get("/v1/models")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["gpt-4"]
    assert response.json()["notice"] == ALIASES_ONLY
    tags = await gateway.get("/api/tags")
    assert tags.status_code == 200
    assert [m["name"] for m in tags.json()["models"]] == ["gpt-4"]
    assert tags.json()["notice"] == ALIASES_ONLY


async def test_every_resting_upstream_asked_and_silent_without_aliases_is_a_502(gateway, pair):
    a, b = pair
    a.mock(side_effect=httpx.ConnectError("down"))
    b.mock(side_effect=httpx.ConnectError("down"))
    rest("default")
    rest("default-2")
    response = await gateway.get("/v1/models")
    assert response.status_code == 502
    assert a.called and b.called  # nobody is blamed without being asked
    assert (await gateway.get("/api/tags")).status_code == 502
