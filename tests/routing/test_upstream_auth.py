"""Which Authorization reaches the upstream: exactly one, and never a secret elsewhere."""

from __future__ import annotations

import respx

from routing.models import Route, Upstream
from tests.routing.helpers import chat_reply

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


def auth_headers(route) -> list[str]:
    return route.calls.last.request.headers.get_list("authorization")


async def test_the_clients_authorization_passes_through(gateway, upstream, settings):
    settings.OPENAI_API_KEY = "sk-server"
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO, headers={"Authorization": "Bearer sk-client"})
    assert auth_headers(route) == ["Bearer sk-client"]


async def test_openai_api_key_is_used_when_the_client_sends_none(gateway, upstream, settings):
    settings.OPENAI_API_KEY = "sk-server"
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO)
    assert auth_headers(route) == ["Bearer sk-server"]


async def test_an_upstreams_own_key_replaces_the_clients(gateway, upstream):
    cloud = await Upstream.objects.acreate(
        name="cloud", base_url="http://cloud.test", api_key="sk-cloud"
    )
    await Route.objects.acreate(match_model="m", upstream=cloud)
    with respx.mock as mock:
        route = mock.post("http://cloud.test/v1/chat/completions").respond(json=chat_reply("x"))
        await gateway.post(CHAT, json=HELLO, headers={"Authorization": "Bearer sk-client"})
    assert auth_headers(route) == ["Bearer sk-cloud"]


async def test_openai_api_key_never_goes_to_another_upstream(gateway, upstream, settings):
    settings.OPENAI_API_KEY = "sk-server"
    other = await Upstream.objects.acreate(name="other", base_url="http://other.test")
    await Route.objects.acreate(match_model="m", upstream=other)
    with respx.mock as mock:
        route = mock.post("http://other.test/v1/chat/completions").respond(json=chat_reply("x"))
        await gateway.post(CHAT, json=HELLO)
    assert auth_headers(route) == []


async def test_cookies_and_hop_by_hop_headers_stay_at_the_gateway(gateway, upstream):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO, headers={"Cookie": "sessionid=abc", "X-Custom": "kept"})
    sent = route.calls.last.request.headers
    assert "cookie" not in sent
    assert sent["x-custom"] == "kept"
