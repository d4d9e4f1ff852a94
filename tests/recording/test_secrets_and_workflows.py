"""Secrets never reach the database; workflows come from the body field or the port."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from recording.models import Conversation, RequestBody, RequestLog
from routing.models import Route, Upstream, Workflow
from tests.routing.helpers import chat_reply, sent_json, sse_response

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
CANARY_AUTH = "sk-canary-authorization-0123456789"
CANARY_BODY = "canary-body-key-0123456789"
CANARY_UPSTREAM = "sk-canary-upstream-0123456789"


def everything_stored() -> str:
    texts = [repr(list(RequestLog.objects.values()))]
    for body in RequestBody.objects.all():
        texts += [repr(body.headers()), body.request_text(), body.response_text()]
    texts.append(repr(list(Conversation.objects.values())))
    return "\n".join(texts)


async def test_authorization_keys_and_upstream_keys_are_never_stored(gateway, recorded):
    cloud = await Upstream.objects.acreate(
        name="cloud", base_url="http://cloud.test", api_key=CANARY_UPSTREAM
    )
    await Route.objects.acreate(match_model="m", upstream=cloud)
    echo = f"Your key is {CANARY_AUTH} and {CANARY_UPSTREAM}"
    with respx.mock as mock:
        mock.post("http://cloud.test/v1/chat/completions").respond(json=chat_reply(echo))
        body = {
            **HELLO,
            "api_key": CANARY_BODY,
            "messages": [{"role": "user", "content": f"use {CANARY_AUTH}"}],
        }
        await gateway.post(
            CHAT,
            json=body,
            headers={"Authorization": f"Bearer {CANARY_AUTH}", "X-Api-Key": CANARY_BODY},
        )
        await gateway.post(
            CHAT, json={**body, "stream": True}, headers={"Authorization": f"Bearer {CANARY_AUTH}"}
        )
    await sync_to_async(recorded)(2)
    stored = await sync_to_async(everything_stored)()
    assert "[redacted]" in stored
    for canary in (CANARY_AUTH, CANARY_BODY, CANARY_UPSTREAM):
        assert canary not in stored


async def test_workflow_id_in_the_body_picks_the_workflow_and_never_goes_upstream(
    gateway, upstream, recorded
):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    await gateway.post(CHAT, json={**HELLO, "workflow_id": "support-bot"})
    assert "workflow_id" not in sent_json(route)
    [row] = await sync_to_async(recorded)()
    assert row.workflow == "support-bot"
    conversation = await Conversation.objects.aget(request_id=row.pk)
    assert conversation.workflow == "support-bot"


async def test_the_port_a_request_arrives_on_picks_the_workflow(
    transactional_db, upstream, recorded
):
    from llmproxy.asgi import application

    await Workflow.objects.acreate(name="by-port", port=8123)
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8123") as c:
        await c.post(CHAT, json=HELLO)
        await c.post(CHAT, json={**HELLO, "workflow_id": "body-wins"})
    rows = await sync_to_async(recorded)(2)
    assert sorted(r.workflow for r in rows) == ["body-wins", "by-port"]


@pytest.mark.parametrize("name", ["../../etc", "a b", "", "x" * 65, 42])
async def test_unsafe_workflow_names_are_refused(gateway, upstream, name):
    route = upstream.post("/v1/chat/completions")
    response = await gateway.post(CHAT, json={**HELLO, "workflow_id": name})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "workflow_id"
    assert not route.called


async def test_streamed_tool_calls_are_assembled_into_the_training_record(
    gateway, upstream, recorded
):
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ],
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    content = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    upstream.post("/v1/chat/completions").respond(
        200, content=content.encode(), headers={"content-type": "text/event-stream"}
    )
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    await gateway.post(CHAT, json={**HELLO, "stream": True, "tools": tools})
    [row] = await sync_to_async(recorded)()
    conversation = await Conversation.objects.aget(request_id=row.pk)
    assert conversation.messages[-1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }
    assert conversation.tools == tools
    assert conversation.finish_reason == "tool_calls"


async def test_a_completion_prompt_becomes_a_user_message(gateway, upstream, recorded):
    upstream.post("/v1/completions").respond(
        json={"choices": [{"index": 0, "text": "42", "finish_reason": "stop"}]}
    )
    await gateway.post("/v1/completions", json={"model": "m", "prompt": "6*7="})
    [row] = await sync_to_async(recorded)()
    conversation = await Conversation.objects.aget(request_id=row.pk)
    assert conversation.messages == [
        {"role": "user", "content": "6*7="},
        {"role": "assistant", "content": "42"},
    ]


async def test_truncated_failed_and_empty_replies_are_not_training_data(
    gateway, upstream, recorded
):
    cut = chat_reply("half an ans")
    cut["choices"][0]["finish_reason"] = "length"
    upstream.post("/v1/chat/completions").mock(
        side_effect=[
            httpx_response(cut),
            httpx_response(chat_reply("")),
            httpx_response({"error": {"message": "refused"}}, 400),
            sse_response(["fine"]),
        ]
    )
    for _ in range(3):
        await gateway.post(CHAT, json=HELLO)
    await gateway.post(CHAT, json={**HELLO, "stream": True})
    await sync_to_async(recorded)(4)
    assert await Conversation.objects.acount() == 1
    kept = await Conversation.objects.aget()
    assert kept.messages[-1]["content"] == "fine"


def httpx_response(data: dict, status: int = 200):
    return httpx.Response(status, json=data)
