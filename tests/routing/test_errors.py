"""Every failure answers an OpenAI-style error with the right status."""

from __future__ import annotations

import httpx
import pytest

from tests.routing.helpers import sse_body

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


def assert_openai_error(response: httpx.Response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if param:
        assert error["param"] == param
    return error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b"", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "m"}', "messages"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": [{"role": "user"}], "stream": "yes"}', "stream"),
    ],
)
async def test_bad_chat_bodies_are_400s_naming_the_field(gateway, upstream, body, param):
    route = upstream.post("/v1/chat/completions")
    response = await gateway.post(CHAT, content=body)
    assert_openai_error(response, 400, param)
    assert not route.called


async def test_a_completion_without_prompt_is_a_400(gateway, upstream):
    response = await gateway.post("/v1/completions", json={"model": "m"})
    assert_openai_error(response, 400, "prompt")


async def test_upstream_error_status_body_and_retry_after_pass_through(gateway, upstream):
    body = {
        "error": {
            "message": "slow down",
            "type": "rate_limit",
            "param": None,
            "code": "rate_limited",
        }
    }
    upstream.post("/v1/chat/completions").respond(429, json=body, headers={"Retry-After": "7"})
    response = await gateway.post(CHAT, json=HELLO)
    assert response.status_code == 429
    assert response.json() == body
    assert response.headers["retry-after"] == "7"


async def test_a_non_json_upstream_error_is_wrapped_with_its_status(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(503, text="<html>Service Unavailable</html>")
    error = assert_openai_error(await gateway.post(CHAT, json=HELLO), 503)
    assert "Service Unavailable" in error["message"]


async def test_a_stream_request_that_fails_upstream_gets_a_status_not_a_stream(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(404, json={"error": {"message": "no model"}})
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no model"


async def test_a_silent_upstream_is_a_504(gateway, upstream):
    upstream.post("/v1/chat/completions").mock(side_effect=httpx.ReadTimeout("silent"))
    assert_openai_error(await gateway.post(CHAT, json=HELLO), 504)


async def test_an_upstream_that_dies_mid_stream_ends_with_an_error_event(gateway, upstream):
    class Dying(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b"\n\n".join(sse_body(["one ", "two"]).split(b"\n\n")[0:2]) + b"\n\n"
            raise httpx.RemoteProtocolError("peer closed connection")

    upstream.post("/v1/chat/completions").respond(
        200, headers={"content-type": "text/event-stream"}, stream=Dying()
    )
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert response.status_code == 200
    last = [line for line in response.text.splitlines() if line.startswith("data: ")][-1]
    assert '"error"' in last and "upstream_disconnected" in last
    assert '"content": "one "' in response.text or '"content":"one "' in response.text
    assert "[DONE]" not in response.text


async def test_malformed_stream_data_ends_with_an_error_event(gateway, upstream):
    content = b'data: {"choices": []}\n\ndata: {oops\n\n'
    upstream.post("/v1/chat/completions").respond(
        200, headers={"content-type": "text/event-stream"}, content=content
    )
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert "upstream_bad_response" in response.text


async def test_a_body_over_the_size_limit_is_a_413_before_reading_it(gateway, upstream, settings):
    settings.MAX_REQUEST_BYTES = 2048
    route = upstream.post("/v1/chat/completions")
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}
    response = await gateway.post(CHAT, json=big)
    error = assert_openai_error(response, 413)
    assert error["code"] == "request_too_large"
    assert not route.called


async def test_an_unknown_v1_path_is_forwarded_and_its_404_comes_back(gateway, upstream):
    upstream.post("/v1/nothing-here").respond(
        404, json={"error": {"message": "no route", "type": "x", "param": None, "code": None}}
    )
    assert_openai_error(await gateway.post("/v1/nothing-here", json={}), 404)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("temperature", "hot"),
        ("top_p", 1.5),
        ("max_tokens", 0),
        ("max_tokens", 2.5),
        ("max_tokens", True),
        ("n", -1),
        ("frequency_penalty", 3),
        ("stream", "yes"),
    ],
)
async def test_out_of_bounds_fields_are_400s_naming_the_field(gateway, upstream, field, value):
    route = upstream.post("/v1/chat/completions")
    response = await gateway.post(CHAT, json={**HELLO, field: value})
    assert_openai_error(response, 400, field)
    assert not route.called


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": "wizard", "content": "x"}], "messages[0].role"),
        (["text"], "messages[0]"),
        ([{"content": "no role"}], "messages[0].role"),
        ({"role": "user"}, "messages"),
        ([{"role": {"nested": 1}, "content": "x"}], "messages[0].role"),
        ([{"role": ["user"], "content": "x"}], "messages[0].role"),
    ],
)
async def test_messages_must_be_objects_with_a_known_role(gateway, upstream, messages, param):
    response = await gateway.post(CHAT, json={"model": "m", "messages": messages})
    assert_openai_error(response, 400, param)


async def test_bounds_hold_for_ollama_options_too(gateway, upstream):
    response = await gateway.post(
        "/api/chat",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "options": {"temperature": 9},
        },
    )
    assert response.status_code == 400
    assert "temperature" in response.json()["error"]
