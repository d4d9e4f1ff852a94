"""Who may reach the API paths from where: the Host they name, the page (Origin) that sends
them, CORS answers for the pages allowed, and plain HTTP when the gateway is served over
HTTPS. Each refusal comes in the API's own error shape, before the body is read."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.routing.helpers import chat_reply

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
OLLAMA_HELLO = {"model": "m", "stream": False, "messages": [{"role": "user", "content": "Hi"}]}
APP = "https://app.example.com"


def assert_openai_refusal(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]


def assert_ollama_refusal(response, status: int) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and response.json()["error"]


async def test_a_host_outside_allowed_hosts_is_refused_in_each_apis_shape(gateway, upstream):
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    headers = {"Host": "rebound.example:1234"}
    assert_openai_refusal(
        await gateway.post(CHAT, json=HELLO, headers=headers), 403, "host_not_allowed"
    )
    assert_ollama_refusal(await gateway.post("/api/chat", json=OLLAMA_HELLO, headers=headers), 403)
    assert_ollama_refusal(await gateway.get("/api/tags", headers=headers), 403)
    assert_openai_refusal(await gateway.get("/v1/models", headers=headers), 403, "host_not_allowed")
    assert not route.called


@pytest.mark.parametrize("host", ["localhost:1234", "127.0.0.1:1234", "[::1]:1234", "localhost"])
async def test_loopback_hosts_with_any_port_are_allowed(gateway, upstream, host):
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    response = await gateway.post(CHAT, json=HELLO, headers={"Host": host})
    assert response.status_code == 200, response.text


async def test_an_unknown_path_under_the_api_is_refused_for_a_bad_host_too(gateway):
    """The check belongs to every API path, not to a list of today's endpoints."""
    response = await gateway.post("/v1/some/new/api", json={}, headers={"Host": "evil.example"})
    assert_openai_refusal(response, 403, "host_not_allowed")


async def test_a_page_on_another_origin_is_refused_even_as_text_plain(gateway, upstream, recorded):
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    import orjson

    sneaky = {**HELLO, "workflow_id": "stolen"}
    response = await gateway.post(
        CHAT,
        content=orjson.dumps(sneaky),
        headers={"Origin": "http://127.0.0.1:9555", "Content-Type": "text/plain"},
    )
    assert_openai_refusal(response, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in response.headers
    ollama = await gateway.post(
        "/api/chat", json=OLLAMA_HELLO, headers={"Origin": "https://evil.example"}
    )
    assert_ollama_refusal(ollama, 403)
    assert not route.called
    from recording.models import Conversation

    assert not await Conversation.objects.filter(workflow="stolen").aexists()


async def test_a_cross_site_load_without_origin_is_refused(gateway, upstream):
    """Browsers leave Origin off simple GETs (an <img> or <script> tag) but say cross-site."""
    upstream.get("/v1/models").respond(json={"data": []})
    response = await gateway.get("/v1/models", headers={"Sec-Fetch-Site": "cross-site"})
    assert_openai_refusal(response, 403, "origin_not_allowed")
    same = await gateway.get("/v1/models", headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200


async def test_clients_without_an_origin_are_served(gateway, upstream):
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_the_gateways_own_pages_may_call_it(gateway, upstream):
    """Same origin (the docs page's "try it out"): scheme, host and port all match."""
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    own = await gateway.post(
        CHAT, json=HELLO, headers={"Host": "localhost:1234", "Origin": "http://localhost:1234"}
    )
    assert own.status_code == 200
    other_port = await gateway.post(
        CHAT, json=HELLO, headers={"Host": "localhost:1234", "Origin": "http://localhost:1235"}
    )
    assert_openai_refusal(other_port, 403, "origin_not_allowed")


async def test_an_allowed_origin_gets_cors_answers(gateway, upstream, settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    response = await gateway.post(CHAT, json=HELLO, headers={"Origin": APP})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "origin" in response.headers["vary"].lower()
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "retry-after" in exposed
    refused = await gateway.post(CHAT, json=HELLO, headers={"Origin": "https://evil.example"})
    assert_openai_refusal(refused, 403, "origin_not_allowed")


async def test_a_preflight_from_an_allowed_origin_is_answered(gateway, upstream, settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    for path in (CHAT, "/api/chat", "/v1/anything/new"):
        response = await gateway.options(
            path,
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, x-api-key",
            },
        )
        assert response.status_code == 204, (path, response.text)
        assert response.headers["access-control-allow-origin"] == APP
        assert "POST" in response.headers["access-control-allow-methods"]
        allowed = response.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "x-api-key"} <= {
            h.strip() for h in allowed.split(",")
        }
        assert int(response.headers["access-control-max-age"]) > 0


async def test_a_preflight_from_another_origin_is_refused(gateway, settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert_openai_refusal(await gateway.options(CHAT, headers=headers), 403, "origin_not_allowed")
    assert_ollama_refusal(await gateway.options("/api/chat", headers=headers), 403)


async def test_a_star_allows_every_origin(gateway, upstream, settings):
    settings.CORS_ALLOWED_ORIGINS = ["*"]
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    response = await gateway.post(CHAT, json=HELLO, headers={"Origin": "https://any.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


async def test_plain_http_is_refused_when_the_gateway_is_served_over_https(
    gateway, upstream, settings
):
    settings.SECURE = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    refused = await gateway.post(CHAT, json=HELLO)
    assert_openai_refusal(refused, 403, "https_required")
    assert "location" not in refused.headers  # a POST is not redirected
    assert_ollama_refusal(await gateway.post("/api/chat", json=OLLAMA_HELLO), 403)
    assert not route.called
    behind_proxy = await gateway.post(CHAT, json=HELLO, headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert (await gateway.get("/health")).status_code == 200  # probes speak plain HTTP


async def test_refusals_are_not_recorded_as_requests(gateway, upstream, recorded):
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO, headers={"Origin": "https://evil.example"})
    await gateway.post(CHAT, json=HELLO)
    rows = await sync_to_async(recorded)(5)
    assert len(rows) == 1 and rows[0].status == 200
