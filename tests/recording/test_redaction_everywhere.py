"""One redaction everywhere a secret could be kept or shown: the log (row, headers, bodies,
training data), the attempts list, an upstream's last error, the --verbose lines, the
cache rows and the exports; with the names, headers and shapes the first version missed."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from recording.models import Conversation, RequestBody, RequestLog
from routing.models import CachedResponse, Route, Upstream, decompress
from tests.routing.helpers import chat_reply

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
UPSTREAM_KEY = "sk-upstream-canary-0123456789"
GATEWAY_KEY = "llmp_" + "CanaryCanaryCanaryCanaryCanary0123456789abc"
CANARIES = {
    "secret_key": "canary-secret-key-0001",
    "api_token": "canary-api-token-0002",
    "openai_api_key": "canary-openai-api-key-0003",
    "x-auth-token": "canary-x-auth-token-0004",
    "x-goog-api-key": "canary-x-goog-api-key-0005",
    "tool arguments": "canary-tool-arguments-0006",
    "malformed json": "canary-malformed-json-0007",
    "gateway key": GATEWAY_KEY,
    "number": "987654321012",
}


def everything_stored() -> str:
    texts = [repr(list(RequestLog.objects.values()))]
    for body in RequestBody.objects.all():
        texts += [repr(body.headers()), body.request_text(), body.response_text()]
    texts.append(repr(list(Conversation.objects.values())))
    texts += [decompress(row.body).decode() for row in CachedResponse.objects.all()]
    return "\n".join(texts)


def leaked(text: str) -> list[str]:
    return [name for name, canary in CANARIES.items() if canary in text]


def hostile_body() -> dict:
    arguments = json.dumps({"city": "Paris", "api_key": CANARIES["tool arguments"]})
    return {
        "model": "m",
        "secret_key": CANARIES["secret_key"],
        "api_token": CANARIES["api_token"],
        "metadata": {"openai_api_key": CANARIES["openai_api_key"], "pin_password": 987654321012},
        "user": f"pasted {GATEWAY_KEY} here",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
    }


async def test_the_log_keeps_none_of_the_secrets_the_first_version_missed(
    gateway, upstream, recorded
):
    upstream.post(CHAT).respond(json=chat_reply("ok"))
    headers = {
        "X-Auth-Token": CANARIES["x-auth-token"],
        "X-Goog-Api-Key": CANARIES["x-goog-api-key"],
    }
    assert (await gateway.post(CHAT, json=hostile_body(), headers=headers)).status_code == 200
    malformed = b'{"model": "m", "password": "' + CANARIES["malformed json"].encode() + b'", '
    assert (await gateway.post(CHAT, content=malformed)).status_code == 400
    await sync_to_async(recorded)(2)
    stored = await sync_to_async(everything_stored)()
    assert leaked(stored) == []
    assert "Paris" in stored  # the rest of the tool call is kept


def echo_auth(request: httpx.Request) -> httpx.Response:
    """An upstream that complains with the key it was given."""
    key = request.headers.get("authorization", "")
    message = f"Invalid API key provided: {key}. Check api_key={key.removeprefix('Bearer ')}"
    # 502: a sign of trouble, so it is retried and counts toward the upstream's health
    return httpx.Response(502, json={"error": {"message": message, "type": "server_error"}})


async def test_an_upstream_echoing_its_key_in_errors_is_redacted_where_shown(
    gateway, settings, recorded, caplog, admin_client
):
    settings.MAX_ATTEMPTS = 2
    settings.COOLDOWN_FAILURES = 1
    cloud = await Upstream.objects.acreate(
        name="cloud", base_url="http://cloud.test", api_key=UPSTREAM_KEY
    )
    await Route.objects.acreate(match_model="m", upstream=cloud)
    logging.getLogger("llmproxy.traffic").setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO), respx.mock as mock:
            mock.post("http://cloud.test/v1/chat/completions").mock(side_effect=echo_auth)
            response = await gateway.post(CHAT, json=HELLO)
    finally:
        logging.getLogger("llmproxy.traffic").setLevel(logging.WARNING)
    assert response.status_code == 502
    assert UPSTREAM_KEY not in response.text  # the server's key never reaches the client
    [row] = await sync_to_async(recorded)()
    assert row.attempts and UPSTREAM_KEY not in json.dumps(row.attempts)
    assert UPSTREAM_KEY not in row.error
    from routing.upstreams.health import health

    [state] = [s for s in health.snapshot() if s["upstream"] == "cloud"]
    assert state["last_error"] and UPSTREAM_KEY not in state["last_error"]
    assert "[redacted]" in state["last_error"]
    shown = await sync_to_async(admin_client.get)("/api/upstreams")
    assert UPSTREAM_KEY not in shown.content.decode()
    assert UPSTREAM_KEY not in caplog.text  # --verbose lines and warnings


async def test_cache_rows_keep_no_secret(gateway, upstream, settings, recorded):
    settings.CACHE_ENABLED = True
    route = upstream.post(CHAT).respond(
        json=chat_reply(f"you sent {CANARIES['x-auth-token']} and {GATEWAY_KEY}")
    )
    headers = {"X-Auth-Token": CANARIES["x-auth-token"]}
    assert (await gateway.post(CHAT, json=HELLO, headers=headers)).status_code == 200
    await sync_to_async(recorded)()
    rows = [r async for r in CachedResponse.objects.all()]
    assert len(rows) == 1 and route.call_count == 1
    assert leaked(decompress(rows[0].body).decode()) == []


@pytest.mark.django_db
def test_exports_redact_rows_stored_before(tmp_path):
    from django.core.management import call_command

    from routing.core.exchange import new_request_id

    arguments = json.dumps({"api_key": CANARIES["tool arguments"]})
    messages = [
        {"role": "user", "content": f"my secret_key={CANARIES['secret_key']}"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
            ],
        },
    ]
    from django.utils import timezone

    Conversation.objects.create(
        request_id=new_request_id(),
        workflow="default",
        model="m",
        created_at=timezone.now(),
        messages=messages,
        digest="d",
    )
    for options in ([], ["--scrub"]):
        out = tmp_path / "-".join(["out", *options])
        call_command("export_chatml", "--out", str(out), *options)
        exported = "".join(p.read_text() for p in out.rglob("*.jsonl"))
        assert exported and leaked(exported) == []
