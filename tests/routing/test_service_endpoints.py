"""/v1/models, /health and /."""

from __future__ import annotations

import httpx

from routing.models import ModelMapping, Route


async def test_models_lists_upstream_models_and_exact_aliases(gateway, upstream):
    upstream.get("/v1/models").respond(
        json={
            "object": "list",
            "data": [{"id": "llama3", "object": "model", "created": 1, "owned_by": "me"}],
        }
    )
    await Route.objects.acreate(match_model="gpt-4", rewrite_model="llama3")
    await Route.objects.acreate(match_model="/regex-.*/")
    await ModelMapping.objects.acreate(pattern="gpt-3.5-turbo", replacement="llama3")
    response = await gateway.get("/v1/models")
    ids = [m["id"] for m in response.json()["data"]]
    assert ids == ["llama3", "gpt-4", "gpt-3.5-turbo"]
    assert response.json()["object"] == "list"


async def test_models_still_lists_aliases_when_the_upstream_is_down(gateway, upstream):
    upstream.get("/v1/models").mock(side_effect=httpx.ConnectError("down"))
    await Route.objects.acreate(match_model="gpt-4")
    response = await gateway.get("/v1/models")
    assert [m["id"] for m in response.json()["data"]] == ["gpt-4"]


async def test_models_is_a_502_when_nothing_answers_and_no_alias_exists(gateway, upstream):
    upstream.get("/v1/models").mock(side_effect=httpx.ConnectError("down"))
    response = await gateway.get("/v1/models")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unreachable"


async def test_health_reports_the_database(gateway):
    response = await gateway.get("/health")
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_the_root_answers_service_info_to_api_clients(gateway):
    response = await gateway.get("/", headers={"Accept": "application/json"})
    assert response.json()["service"] == "llmproxy"
    assert "POST /v1/chat/completions" in response.json()["endpoints"]
