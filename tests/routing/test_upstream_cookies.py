"""The pooled upstream client is shared by every caller: it must not keep an upstream's
cookies and send them on with the next caller's request."""

from __future__ import annotations

import pytest
from aiohttp import web

from routing.upstreams.client import _new_client


@pytest.fixture
async def cookie_setter():
    """A loopback upstream that sets a cookie on every answer and notes the ones it gets."""
    received: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        received.append(request.headers.get("Cookie"))
        response = web.json_response({"ok": True})
        response.set_cookie("session", "caller-one-secret", path="/")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1/chat/completions", received
    await runner.cleanup()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_an_upstreams_cookie_is_not_sent_with_the_next_request(
    cookie_setter, settings, transport
):
    settings.UPSTREAM_TRANSPORT = transport
    url, received = cookie_setter
    client = _new_client()
    try:
        first = await client.post(url, json={})
        assert "caller-one-secret" in first.headers["set-cookie"]
        await client.post(url, json={})
    finally:
        await client.aclose()
    assert received == [None, None]
