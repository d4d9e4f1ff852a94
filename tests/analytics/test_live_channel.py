"""The websocket: staff only, fed by the one broadcaster after rows are written."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from analytics.broadcast import publish_request_events
from analytics.consumers import DashboardConsumer
from recording.writer import Writer
from routing.core.exchange import OK, Exchange, new_request_id
from routing.rules.engine import Decision, Transforms, UpstreamSpec

pytestmark = pytest.mark.django_db(transaction=True)


async def communicator(user) -> WebsocketCommunicator:
    app = DashboardConsumer.as_asgi()
    comm = WebsocketCommunicator(app, "/ws/dashboard/")
    comm.scope["user"] = user
    return comm


async def staff_user(is_staff: bool = True):
    from django.contrib.auth.models import User

    return await sync_to_async(User.objects.create_user)(
        f"u{new_request_id().hex[:8]}", password="pw", is_staff=is_staff
    )


async def test_anonymous_and_non_staff_connections_are_refused():
    for user in (AnonymousUser(), await staff_user(is_staff=False)):
        comm = await communicator(user)
        connected, code = await comm.connect()
        assert not connected and code == 4403


async def test_staff_receive_the_broadcast_events():
    comm = await communicator(await staff_user())
    connected, _ = await comm.connect()
    assert connected
    row = {
        "id": new_request_id(),
        "started_at": timezone.now(),
        "model_in": "<b>m</b>",
        "state": "in_progress",
        "service": "openai",
        "error": "",
    }
    await publish_request_events([("started", row)])
    message = await comm.receive_json_from(timeout=2)
    assert message["type"] == "requests"
    [event] = message["events"]
    assert event["event"] == "started"
    assert event["request"]["id"] == str(row["id"])
    assert event["request"]["model_in"] == "<b>m</b>"  # raw text: the page escapes it
    await comm.disconnect()


async def test_the_writer_announces_what_it_wrote(settings):
    import asyncio

    settings.RECORD_FLUSH_SECONDS = 0.01
    comm = await communicator(await staff_user())
    await comm.connect()
    writer = Writer()
    writer.on_written(publish_request_events)
    task = asyncio.create_task(writer.run())
    try:
        x = Exchange(
            service="openai",
            endpoint="/v1/chat/completions",
            kind="chat",
            client="1.2.3.4",
            model_in="m",
            decision=Decision(UpstreamSpec("u", "http://u"), "m", Transforms()),
            stream=True,
            body={},
        )
        writer.submit("start", x)
        started = await comm.receive_json_from(timeout=5)
        x.finish(OK, 200)
        writer.submit("finish", x)
        finished = await comm.receive_json_from(timeout=5)
    finally:
        task.cancel()
        await comm.disconnect()
    assert [e["event"] for e in started["events"]] == ["started"]
    assert finished["events"][0]["event"] == "finished"
    assert finished["events"][0]["request"]["state"] == "ok"


async def connect_through_the_gateway(origin: str | None, host: str = "127.0.0.1:1234") -> bool:
    """Open the dashboard's websocket on the real application with a staff session."""
    import uuid

    from django.contrib.auth.models import User
    from django.test import Client

    from llmproxy.asgi import application

    user = await sync_to_async(User.objects.create_user)(
        f"w{uuid.uuid4().hex[:12]}", password="pw", is_staff=True
    )
    client = Client()
    await sync_to_async(client.force_login)(user)
    headers = [
        (b"host", host.encode()),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, _ = await comm.connect()
    await comm.disconnect()
    return connected


async def test_the_live_channel_opens_from_the_gateways_own_pages():
    assert await connect_through_the_gateway("http://127.0.0.1:1234")
    assert await connect_through_the_gateway("http://localhost:1234", host="localhost:1234")


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9555",  # another port of the same host
        "https://127.0.0.1:1234",  # another scheme
        "http://evil.example:1234",
        "null",
        None,
    ],
)
async def test_the_live_channel_refuses_pages_of_other_origins(origin):
    assert not await connect_through_the_gateway(origin)
