"""Stored responses: kept, continued, owned, deleted, paged, pruned, shown in the admin."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from asgiref.sync import sync_to_async
from django.utils import timezone

from recording.maintenance import prune_stored_responses
from routing.apis.responses.store import store
from routing.models import GatewayKey, StoredResponse
from tests.routing.helpers import chat_reply, sent_json, sse_response

RESPONSES = "/v1/responses"
CANARY = "sk-canary-authorization-0123456789"


async def written() -> None:
    await sync_to_async(store.flush)()


async def test_a_response_is_kept_and_continued_from_the_table(gateway, upstream):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("Paris."))
    first = await gateway.post(RESPONSES, json={"model": "m", "input": "Capital of France?"})
    assert first.status_code == 200
    await written()  # out of memory, into the table
    assert not store.waiting(first.json()["id"])
    row = await StoredResponse.objects.aget(id=first.json()["id"])
    assert row.unpack("response")["output"][0]["content"][0]["text"] == "Paris."
    second = await gateway.post(
        RESPONSES,
        json={"model": "m", "input": "And Italy?", "previous_response_id": first.json()["id"]},
    )
    assert second.status_code == 200
    assert [m["content"] for m in sent_json(route)["messages"]] == [
        "Capital of France?",
        "Paris.",
        "And Italy?",
    ]
    assert second.json()["previous_response_id"] == first.json()["id"]


async def test_store_false_keeps_nothing(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    answer = await gateway.post(RESPONSES, json={"model": "m", "input": "x", "store": False})
    await written()
    assert answer.json()["store"] is False
    assert not await StoredResponse.objects.filter(id=answer.json()["id"]).aexists()
    missing = await gateway.get(f"{RESPONSES}/{answer.json()['id']}")
    assert missing.status_code == 404


async def test_a_stored_response_is_never_served_to_another_caller(gateway, upstream, settings):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("mine"))
    mine = {"Authorization": "Bearer sk-alice-000000000"}
    theirs = {"Authorization": "Bearer sk-bob-00000000000"}
    made = await gateway.post(RESPONSES, json={"model": "m", "input": "x"}, headers=mine)
    url = f"{RESPONSES}/{made.json()['id']}"
    assert (await gateway.get(url, headers=mine)).status_code == 200
    for call in (gateway.get(url, headers=theirs), gateway.get(f"{url}/input_items")):
        refused = await call
        assert refused.status_code == 404
        assert refused.json()["error"]["type"] == "invalid_request_error"
    follow = {"model": "m", "input": "y", "previous_response_id": made.json()["id"]}
    refused = await gateway.post(RESPONSES, json=follow, headers=theirs)
    assert refused.status_code == 404
    assert refused.json()["error"]["param"] == "previous_response_id"
    assert (await gateway.delete(url, headers=theirs)).status_code == 404
    assert (await gateway.get(url, headers=mine)).status_code == 200


async def test_with_gateway_keys_the_key_owns_the_response(gateway, upstream, settings):
    settings.REQUIRE_GATEWAY_KEY = True
    secrets = {}
    for name in ("team", "other"):
        key = GatewayKey(name=name)
        secrets[name] = key.issue()
        await key.asave()
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    made = await gateway.post(
        RESPONSES, json={"model": "m", "input": "x"}, headers={"X-Gateway-Key": secrets["team"]}
    )
    url = f"{RESPONSES}/{made.json()['id']}"
    other = await gateway.get(url, headers={"Authorization": f"Bearer {secrets['other']}"})
    assert other.status_code == 404
    same = await gateway.get(url, headers={"Authorization": f"Bearer {secrets['team']}"})
    assert same.status_code == 200
    assert (await gateway.get(url)).status_code == 401


async def test_secrets_are_blanked_before_a_response_reaches_the_table(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(json=chat_reply(f"echo {CANARY}"))
    headers = {"Authorization": f"Bearer {CANARY}"}
    made = await gateway.post(
        RESPONSES, json={"model": "m", "input": f"use {CANARY}"}, headers=headers
    )
    await written()
    row = await StoredResponse.objects.aget(id=made.json()["id"])
    stored = json.dumps([row.unpack("response"), row.unpack("context")])
    assert CANARY not in stored and "[redacted]" in stored
    assert CANARY not in row.owner


async def test_delete_then_retrieve_is_a_404(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    made = await gateway.post(RESPONSES, json={"model": "m", "input": "x"})
    url = f"{RESPONSES}/{made.json()['id']}"
    deleted = await gateway.delete(url)
    assert deleted.json() == {"id": made.json()["id"], "object": "response", "deleted": True}
    await written()
    assert (await gateway.get(url)).status_code == 404
    assert (await gateway.delete(url)).status_code == 404


async def test_input_items_are_paged_newest_first(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    items = [{"role": "user", "content": str(i)} for i in range(5)]
    made = await gateway.post(RESPONSES, json={"model": "m", "input": items})
    url = f"{RESPONSES}/{made.json()['id']}/input_items"
    page = (await gateway.get(url, params={"limit": 2})).json()
    assert [i["content"][0]["text"] for i in page["data"]] == ["4", "3"] and page["has_more"]
    rest = (await gateway.get(url, params={"after": page["last_id"], "order": "desc"})).json()
    assert [i["content"][0]["text"] for i in rest["data"]] == ["2", "1", "0"]
    assert not rest["has_more"]
    assert (await gateway.get(url, params={"limit": 0})).status_code == 400


def stored_row(days_old: float, **fields) -> StoredResponse:
    row = StoredResponse(
        id=fields.pop("id", f"resp_{days_old}"),
        owner="ip:10.1.2.3",
        status="completed",
        created_at=timezone.now() - timedelta(days=days_old),
        response=StoredResponse.pack({"id": "x", "output": [], "answer": "kept upstream?"}),
        context=StoredResponse.pack([{"type": "message", "role": "user", "content": "hi"}]),
        **fields,
    )
    row.save()
    return row


def test_stored_responses_follow_the_log_age(db):
    stored_row(10, id="resp_old")
    stored_row(1, id="resp_new")
    assert prune_stored_responses(7, batch=1) == 1
    assert list(StoredResponse.objects.values_list("id", flat=True)) == ["resp_new"]


def test_stored_responses_are_visible_in_the_admin(admin_client):
    stored_row(0, id="resp_seen", model="client-model", gateway_key="team")
    listing = admin_client.get("/admin/routing/storedresponse/")
    assert listing.status_code == 200 and b"resp_seen" in listing.content
    page = admin_client.get("/admin/routing/storedresponse/resp_seen/change/")
    assert page.status_code == 200
    assert (
        b"client-model" in page.content and b"&quot;content&quot;: &quot;hi&quot;" in page.content
    )


async def test_a_follow_up_sent_at_once_is_served_from_memory(gateway, upstream, settings):
    settings.RECORD_FLUSH_SECONDS = 60  # nothing is written during this test
    upstream.post("/v1/chat/completions").mock(
        side_effect=[sse_response(["first ", "answer"]), httpx.Response(200, json=chat_reply("ok"))]
    )
    stream = await gateway.post(RESPONSES, json={"model": "m", "input": "one", "stream": True})
    made = json.loads(stream.text.strip().splitlines()[-1].removeprefix("data: "))["response"]
    assert store.waiting(made["id"]) is not None  # not written yet
    follow = {"model": "m", "input": "two", "previous_response_id": made["id"]}
    assert (await gateway.post(RESPONSES, json=follow)).status_code == 200


async def test_with_several_processes_a_miss_waits_for_another_ones_write(
    gateway, upstream, settings
):
    from routing.core.exchange import new_request_id

    settings.REDIS_URL = "redis://127.0.0.1:6379/15"  # only read as "several processes"
    response_id = f"resp_{new_request_id().hex}"

    async def written_elsewhere() -> None:
        await asyncio.sleep(0.15)
        await sync_to_async(stored_row)(0, id=response_id)

    writer = asyncio.create_task(written_elsewhere())
    found = await store.find(response_id, "ip:10.1.2.3")
    await writer
    assert found is not None and found.id == response_id
    settings.REDIS_URL = ""
    assert await store.find(f"resp_{new_request_id().hex}", "ip:10.1.2.3") is None


async def test_ids_that_cannot_be_ours_are_404_without_a_lookup(gateway, upstream):
    for odd in ("resp_%00x", "a" * 81, "r%C3%A9sp"):
        assert (await gateway.get(f"{RESPONSES}/{odd}")).status_code == 404
    follow = {"model": "m", "input": "x", "previous_response_id": "resp_\x00"}
    assert (await gateway.post(RESPONSES, json=follow)).status_code == 404
