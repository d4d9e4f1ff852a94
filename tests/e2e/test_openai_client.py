"""The real openai client against a running gateway and scripted fake upstreams."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import openai
import pytest

from tests.e2e.procs import ROOT

pytestmark = pytest.mark.e2e

USER = [{"role": "user", "content": "Hello there, gateway!"}]


def stream_text(client, model: str, content: str) -> str:
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}], stream=True
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def test_a_whole_reply_comes_back(client):
    reply = client.chat.completions.create(model="echo", messages=USER)
    assert reply.choices[0].message.content == "Hello there, gateway!"
    assert reply.usage.completion_tokens > 0


def test_a_streamed_reply_comes_back_in_pieces(client):
    stream = client.chat.completions.create(model="echo+chunk:4", messages=USER, stream=True)
    pieces = [
        c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == "Hello there, gateway!"
    assert len(pieces) == 6


def test_text_completions_work_both_ways(client):
    whole = client.completions.create(model="echo", prompt="count to three")
    assert whole.choices[0].text == "count to three"
    streamed = client.completions.create(model="echo+chunk:2", prompt="abcdef", stream=True)
    assert "".join(c.choices[0].text for c in streamed) == "abcdef"


THINKING = "<think>secret plan</think>The answer is 42."


def test_think_tags_split_at_every_point_never_leak(client):
    for cut in range(len(THINKING) + 1):
        assert stream_text(client, f"echo+split:{cut}", THINKING) == "The answer is 42.", cut
    assert stream_text(client, "echo+chunk:1", THINKING) == "The answer is 42."
    whole = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": THINKING}]
    )
    assert whole.choices[0].message.content == "The answer is 42."


def test_a_route_can_keep_thinking_or_move_it_to_reasoning(client):
    kept = client.chat.completions.create(
        model="keep-think", messages=[{"role": "user", "content": THINKING}]
    )
    assert kept.choices[0].message.content == THINKING
    moved = client.chat.completions.create(
        model="reasoning", messages=[{"role": "user", "content": THINKING}]
    )
    assert moved.choices[0].message.content == "The answer is 42."
    assert moved.choices[0].message.model_extra["reasoning_content"] == "secret plan"
    stream = client.chat.completions.create(
        model="reasoning+chunk:3", messages=[{"role": "user", "content": THINKING}], stream=True
    )
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for c in stream
        if c.choices
    )
    assert reasoning == "secret plan"


def test_fenced_json_is_unfenced_in_both_modes(client):
    whole = client.chat.completions.create(
        model="fenced", messages=[{"role": "user", "content": '{"a": [1, 2]}'}]
    )
    assert whole.choices[0].message.content == '{"a": [1, 2]}'
    assert stream_text(client, "fenced+chunk:2", '{"a": [1, 2]}') == '{"a": [1, 2]}'


def test_disable_thinking_reaches_the_upstream_as_no_think(client):
    reply = client.chat.completions.create(model="no-think", messages=USER)
    seen = json.loads(reply.choices[0].message.content)
    assert seen["body"]["messages"][-1]["content"] == "Hello there, gateway! /no_think"
    assert seen["body"]["model"] == "inspect"
    assert seen["headers"]["authorization"] == "Bearer sk-test"


def test_regex_back_references_rewrite_the_model(client):
    reply = client.chat.completions.create(model="alias-5", messages=USER)
    assert reply.model == "echo+chunk:5"
    stream = client.chat.completions.create(model="alias-5", messages=USER, stream=True)
    pieces = [
        c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert pieces[0] == "Hello"


def test_routes_apply_in_order_and_match_the_client_address(client):
    first = client.chat.completions.create(model="first-wins", messages=USER)
    assert first.system_fingerprint == "second"
    by_address = client.chat.completions.create(model="addr-test", messages=USER)
    assert (by_address.system_fingerprint, by_address.model) == ("second", "echo")
    unrouted = client.chat.completions.create(model="echo", messages=USER)
    assert unrouted.system_fingerprint == "main"


def test_model_map_exact_beats_regex_and_a_route_rewrite_beats_the_map(client):
    exact = client.chat.completions.create(model="map-exact", messages=USER)
    assert (exact.model, exact.choices[0].message.content) == ("echo+words:3", "w0 w1 w2")
    assert exact.system_fingerprint == "second"  # routed, and the map still applied
    regex = client.chat.completions.create(model="map-7", messages=USER)
    assert regex.model == "echo+chunk:7"
    routed = client.chat.completions.create(model="route-vs-map", messages=USER)
    assert routed.choices[0].message.content == "w0 w1"


def test_models_lists_upstream_models_and_aliases(client):
    ids = {m.id for m in client.models.list()}
    assert {"echo", "fake-llama-3-8b", "dead-model", "first-wins", "map-exact"} <= ids


def test_a_bad_request_is_a_400_with_an_openai_error(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="echo", messages=[])
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "messages"


def test_an_unreachable_upstream_is_a_502(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="dead-model", messages=USER)
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "upstream_unreachable"


def test_a_silent_upstream_is_a_504_after_the_timeout(client):
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="hang", messages=USER, stream=stream)
        assert caught.value.status_code == 504


def test_upstream_errors_pass_through_with_retry_after(client):
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="status:429", messages=USER)
    assert caught.value.response.headers["retry-after"] == "7"
    with pytest.raises(openai.InternalServerError) as wrapped:
        client.chat.completions.create(model="text-error:500", messages=USER)
    assert wrapped.value.body["message"] == "upstream exploded"


def test_an_upstream_dying_mid_stream_ends_the_stream_with_an_error(client):
    received = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(
            model="echo+drop-after:3", messages=USER, stream=True
        ):
            received.append(chunk)
    assert len(received) == 3


def test_a_stall_between_chunks_ends_the_stream_with_an_error(client):
    with pytest.raises(openai.APIError) as caught:
        list(client.chat.completions.create(model="echo+hang-after:2", messages=USER, stream=True))
    assert "silent" in str(caught.value)


def fake_stats(url: str) -> dict:
    return httpx.get(f"{url}/_fake/stats").json()


def test_the_first_event_arrives_while_the_upstream_is_still_streaming(client, fake):
    stream = client.chat.completions.create(
        model="echo+words:15+delay:100", messages=USER, stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    assert fake_stats(fake)["active_streams"] == 1
    stream.close()


def test_a_client_that_disconnects_cancels_the_upstream_stream(gateway_url, fake):
    before = fake_stats(fake)["streams_abandoned"]
    body = {"model": "echo+words:100+delay:100", "stream": True, "messages": USER}
    with httpx.stream("POST", f"{gateway_url}/v1/chat/completions", json=body) as response:
        lines = response.iter_lines()
        while "w1" not in next(lines):
            pass
    deadline = time.monotonic() + 2
    while fake_stats(fake)["streams_abandoned"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = fake_stats(fake)
    assert stats["streams_abandoned"] == before + 1
    assert stats["active_streams"] == 0


def test_every_response_carries_the_gateway_overhead(gateway_url):
    response = httpx.post(
        f"{gateway_url}/v1/chat/completions", json={"model": "echo", "messages": USER}
    )
    assert float(response.headers["x-gateway-overhead-ms"]) < 1000


def test_a_configuration_change_reaches_the_running_gateway_within_two_seconds(
    client, gateway_proc
):
    proc, _ = gateway_proc
    code = (
        "from routing.models import ModelMapping; "
        "ModelMapping.objects.create(pattern='live-alias', replacement='echo+words:4')"
    )
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env=proc.env,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    saved = time.monotonic()
    while True:
        reply = client.chat.completions.create(model="live-alias", messages=USER)
        if reply.choices[0].message.content == "w0 w1 w2 w3":
            break
        assert time.monotonic() - saved < 2.0, "the change did not arrive within 2 s"
        time.sleep(0.1)
