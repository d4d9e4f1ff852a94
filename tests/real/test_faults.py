"""The real server's failures through the gateway: a server killed mid-stream, a prompt beyond
its context, and the 500s it answers for a client's mistakes (passed on once, never retried,
and never held against the server's health)."""

from __future__ import annotations

import re
import time

import httpx
import openai
import pytest

from tests.real.compare import post
from tests.real.conftest import LlamaServer

pytestmark = pytest.mark.real

CHAT = "/v1/chat/completions"


def metric(gateway, name: str, **labels: str) -> float:
    """One sample of the gateway's /metrics (0 when absent)."""
    text = httpx.get(f"{gateway.url}/metrics").text
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def requests_seen(gateway, status: str) -> float:
    """Finished client requests with this status, every model and upstream together."""
    text = httpx.get(f"{gateway.url}/metrics").text
    pattern = re.compile(r'^llmproxy_requests_total\{.*status="' + status + r'".*\} (\S+)$')
    return sum(float(m.group(1)) for line in text.splitlines() if (m := pattern.match(line)))


def test_a_server_killed_mid_stream_ends_the_stream_with_an_error_then_quick_502s(
    gateway, doomed_port, real_dir
):
    server = LlamaServer(real_dir / "doomed.log", "-c", "2048", "-np", "1", port=doomed_port)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0)
    received = []
    try:
        stream = client.chat.completions.create(
            model="doomed",
            messages=[{"role": "user", "content": "go on forever"}],
            max_tokens=2000,
            stream=True,
            extra_body={"ignore_eos": True},  # ~2000 tokens: a second or more to write
        )
        with pytest.raises(openai.APIError):
            for chunk in stream:
                received.append(chunk)
                if len(received) == 3:
                    server.kill()
    finally:
        server.stop()
    assert 3 <= len(received) < 2000
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as dead:  # the next request: a quick 502
        client.chat.completions.create(model="doomed", messages=[{"role": "user", "content": "?"}])
    assert dead.value.status_code == 502
    assert time.monotonic() - started < 20


def test_a_prompt_beyond_the_context_is_the_servers_400_once(llama, gateway):
    body = {"model": "tiny", "messages": [{"role": "user", "content": "a b " * 3000}]}
    direct, relayed = post(llama.url, CHAT, body), post(gateway.url, CHAT, body)
    assert direct.status_code == relayed.status_code == 400
    assert relayed.json() == direct.json()
    assert relayed.json()["error"]["type"] == "exceed_context_size_error"
    assert relayed.headers["x-should-retry"] == "false"
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x")
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(**body)


PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
    "GAhKmMIQAAAABJRU5ErkJggg=="
)
AN_IMAGE = [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": PIXEL}},
]


@pytest.mark.parametrize(
    "mistake",
    [
        {"tools": "nope"},
        {"messages": [{"role": "user", "content": AN_IMAGE}]},  # and no vision projector
    ],
    ids=["tools-not-a-list", "image-without-vision"],
)
def test_a_500_for_a_clients_mistake_is_passed_on_once_and_the_server_stays_well(
    llama, gateway, mistake
):
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], **mistake}
    direct = post(llama.url, CHAT, body)
    assert direct.status_code == 500  # what llama.cpp's server answers to it
    before = requests_seen(gateway, "500")
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x")  # retries: 2
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(**body)
    assert failed.value.response.headers["x-should-retry"] == "false"
    assert failed.value.body == direct.json()["error"]
    time.sleep(0.3)  # the writer counts finished requests every 0.05 s
    assert requests_seen(gateway, "500") - before == 1  # the client did not try again
    assert metric(gateway, "llmproxy_upstream_failures", upstream="default") == 0
    assert metric(gateway, "llmproxy_upstream_up", upstream="default") == 1
