"""Rate limits at their boundary, forwarded addresses, and gateway keys."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from routing.models import GatewayKey
from routing.rules.rates import Rate, parse_rate
from tests.routing.helpers import chat_reply

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(autouse=True)
def fresh_counts():
    from django.core.cache import cache

    cache.clear()


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("1000/15m", Rate(1000, 900)),
        ("10/s", Rate(10, 1)),
        ("500/1h", Rate(500, 3600)),
        ("0", None),
    ],
)
def test_rates_parse(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["ten/s", "10/x", "-1/m", "0/m"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


async def test_the_limit_holds_at_its_boundary(gateway, upstream, settings):
    settings.RATE_LIMIT = Rate(3, 60)
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    answers = [await gateway.post(CHAT, json=HELLO) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert int(refused.headers["x-ratelimit-reset"]) > 0
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"


async def test_ollama_paths_refuse_in_ollamas_shape(gateway, upstream, settings):
    settings.RATE_LIMIT = Rate(1, 60)
    await gateway.get("/api/version")
    refused = await gateway.post("/api/chat", json={"model": "m", "messages": []})
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}


async def test_a_spoofed_forwarded_for_is_ignored(gateway, upstream, settings):
    settings.RATE_LIMIT = Rate(2, 60)
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    statuses = [
        (
            await gateway.post(CHAT, json=HELLO, headers={"X-Forwarded-For": f"203.0.113.{i}"})
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


async def test_a_trusted_proxy_is_believed(gateway, upstream, settings, recorded):
    settings.RATE_LIMIT = Rate(1, 60)
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.1.0.0/16"),)  # the test client's
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    statuses = [
        (
            await gateway.post(
                CHAT, json=HELLO, headers={"X-Forwarded-For": f"198.51.100.7, 203.0.113.{i}"}
            )
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 200]
    rows = await sync_to_async(recorded)(3)
    assert {r.client for r in rows} == {"203.0.113.0", "203.0.113.1", "203.0.113.2"}


async def make_key(**fields) -> tuple[GatewayKey, str]:
    key = GatewayKey(name=fields.pop("name", "team"), **fields)
    secret = key.issue()
    await key.asave()
    return key, secret


async def test_keys_are_required_when_asked_for(gateway, upstream, settings):
    settings.REQUIRE_GATEWAY_KEY = True
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    missing = await gateway.post(CHAT, json=HELLO)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    wrong = await gateway.post(CHAT, json=HELLO, headers={"X-Gateway-Key": "llmp_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    _, secret = await make_key()
    assert (
        await gateway.post(CHAT, json=HELLO, headers={"X-Gateway-Key": secret})
    ).status_code == 200
    ollama = await gateway.post("/api/chat", json={"model": "m", "messages": []})
    assert ollama.status_code == 401 and set(ollama.json()) == {"error"}


async def test_a_gateway_key_never_reaches_the_upstream(gateway, upstream, settings, recorded):
    settings.OPENAI_API_KEY = "sk-upstream-own-key"
    _, secret = await make_key()
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    response = await gateway.post(CHAT, json=HELLO, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    sent = route.calls.last.request
    assert sent.headers.get_list("authorization") == ["Bearer sk-upstream-own-key"]
    assert secret not in str(sent.headers) and secret not in sent.content.decode()
    [row] = await sync_to_async(recorded)()
    assert row.gateway_key == "team"


async def test_expired_or_disabled_keys_are_refused(gateway, upstream):
    _, expired = await make_key(name="old", expires_at=timezone.now() - timedelta(minutes=1))
    _, disabled = await make_key(name="off", enabled=False)
    for secret in (expired, disabled):
        response = await gateway.post(CHAT, json=HELLO, headers={"X-Gateway-Key": secret})
        assert response.status_code == 401


async def test_a_key_may_be_limited_to_some_models(gateway, upstream):
    _, secret = await make_key(allowed_models="small\n/llama-.*/")
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    headers = {"X-Gateway-Key": secret}
    ok = [
        await gateway.post(CHAT, json={**HELLO, "model": m}, headers=headers)
        for m in ("small", "llama-3")
    ]
    refused = await gateway.post(CHAT, json={**HELLO, "model": "gpt-4"}, headers=headers)
    assert [r.status_code for r in ok] == [200, 200]
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "model"
    assert route.call_count == 2


async def test_a_key_has_its_own_limit(gateway, upstream, settings):
    settings.RATE_LIMIT = Rate(100, 60)
    _, secret = await make_key(rate_limit="2/m")
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    statuses = [
        (await gateway.post(CHAT, json=HELLO, headers={"X-Gateway-Key": secret})).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 200  # others are unaffected


async def test_models_listing_never_forwards_the_gateway_key(gateway, upstream):
    _, secret = await make_key()
    route = upstream.get("/v1/models").respond(json={"data": []})
    await gateway.get("/v1/models", headers={"Authorization": f"Bearer {secret}"})
    assert "authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    "sent",
    [
        {"X-Gateway-Key": "{key}", "Authorization": "Bearer {key}"},
        {"X-Gateway-Key": "{key}", "X-Api-Key": "{key}"},
        {"Authorization": "Bearer {key}", "X-Api-Key": "{key}"},
        {"X-Api-Key": "{key}"},
        {"Api-Key": "{key}"},
        {"Authorization": "bearer {key}", "Api-Key": "{key}", "X-Gateway-Key": "{key}"},
        {"X-Gateway-Key": "{key}", "X-Custom-Auth": "Token {key}"},
    ],
    ids=lambda sent: "+".join(sent),
)
async def test_every_copy_of_a_gateway_key_is_stripped_before_the_upstream(
    gateway, upstream, settings, recorded, sent
):
    settings.OPENAI_API_KEY = "sk-upstream-own-key"
    _, secret = await make_key()
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    headers = {name: value.format(key=secret) for name, value in sent.items()}
    response = await gateway.post(CHAT, json=HELLO, headers=headers)
    assert response.status_code == 200, response.text
    forwarded = route.calls.last.request
    assert secret not in str(list(forwarded.headers.items()))
    assert forwarded.headers.get_list("authorization") == ["Bearer sk-upstream-own-key"]
    [row] = await sync_to_async(recorded)()
    assert row.gateway_key == "team"


async def test_the_clients_own_key_still_passes_beside_a_gateway_key(gateway, upstream):
    _, secret = await make_key()
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    headers = {"X-Gateway-Key": secret, "Authorization": "Bearer sk-client-own", "X-Api-Key": "k1"}
    assert (await gateway.post(CHAT, json=HELLO, headers=headers)).status_code == 200
    forwarded = route.calls.last.request.headers
    assert forwarded["authorization"] == "Bearer sk-client-own" and forwarded["x-api-key"] == "k1"


async def test_two_different_gateway_keys_are_refused(gateway, upstream):
    _, first = await make_key(name="one")
    _, second = await make_key(name="two")
    route = upstream.post(CHAT).respond(json=chat_reply("ok"))
    response = await gateway.post(
        CHAT, json=HELLO, headers={"X-Gateway-Key": first, "Authorization": f"Bearer {second}"}
    )
    assert response.status_code == 401 and not route.called


@pytest.mark.parametrize(
    ("hop", "client"),
    [
        ("203.0.113.9:5555", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::2", "2001:db8::2"),
        ("garbage", "unknown"),
        ("203.0.113.9:99999", "unknown"),
    ],
)
async def test_forwarded_hops_with_ports_brackets_or_garbage_are_read_right(
    gateway, upstream, settings, recorded, hop, client
):
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.1.0.0/16"),)  # the test client's
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json=HELLO, headers={"X-Forwarded-For": f"198.51.100.7, {hop}"})
    [row] = await sync_to_async(recorded)()
    assert row.client == client


async def test_a_garbage_hop_never_shares_the_proxys_own_bucket(gateway, upstream, settings):
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.1.0.0/16"),)
    settings.RATE_LIMIT = Rate(1, 60)
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    garbage = await gateway.post(CHAT, json=HELLO, headers={"X-Forwarded-For": "garbage"})
    own = await gateway.post(CHAT, json=HELLO)
    assert (garbage.status_code, own.status_code) == (200, 200)


@pytest.mark.django_db
def test_a_garbage_hop_from_a_trusted_proxy_does_not_reach_the_metrics(client, settings):
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    settings.METRICS_TOKEN = ""
    response = client.get(
        "/metrics", HTTP_X_FORWARDED_FOR="garbage", REMOTE_ADDR="127.0.0.1", HTTP_HOST="localhost"
    )
    assert response.status_code == 403
    ported = client.get(
        "/metrics",
        HTTP_X_FORWARDED_FOR="203.0.113.9:5555",
        REMOTE_ADDR="127.0.0.1",
        HTTP_HOST="localhost",
    )
    assert ported.status_code == 403
