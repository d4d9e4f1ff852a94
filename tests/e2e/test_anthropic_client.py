"""The real `anthropic` SDK against a running gateway and the scripted fake upstream."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import anthropic
import httpx
import pytest

from tests.e2e.procs import ROOT, start_gateway

pytestmark = pytest.mark.e2e

ROUTES = """
upstreams:
  - {name: narrow, url: "FAKE", max_concurrency: 1}
  - {name: limited, url: "FAKE"}
routes:
  # a 429 with Retry-After rests its upstream: keep that from the default one
  - {name: limited, match: {model: "/^status:429/"}, route: {upstream: limited}}
  - name: one-at-a-time
    match: {model: "/busy(.*)/"}
    route: {upstream: narrow, model: "echo\\\\1"}
  - name: keeps-tags
    match: {model: "/keep(.*)/"}
    route: {model: "echo\\\\1", strip_thinking: false}
"""
BASH = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
THINK = {"type": "enabled", "budget_tokens": 1024}


@pytest.fixture(scope="module")
def messages_gateway(e2e_dir, fake):
    routes = e2e_dir / "anthropic-routes.yaml"
    routes.write_text(ROUTES.replace("FAKE", fake))
    proc, url = start_gateway(
        e2e_dir,
        fake,
        ROUTES_CONFIG=str(routes),
        MODEL_MAP=json.dumps({"/claude-.*/": "echo"}),
        MAX_REQUEST_BYTES="100000",
        MAX_ATTEMPTS="1",
        QUEUE_TIMEOUT="0.2",
        ANTHROPIC_PING_SECONDS="0.1",
        RECORD_FLUSH_SECONDS="0.05",
        CONFIG_POLL_SECONDS="0.2",
    )
    yield proc, url
    proc.stop()


@pytest.fixture
def claude(messages_gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=messages_gateway[1], api_key="sk-client", max_retries=0)


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_a_message_comes_back_whole(claude):
    message = claude.messages.create(model="echo", max_tokens=64, messages=ask("Hello gateway"))
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Hello gateway"
    assert message.model == "echo" and message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_a_claude_model_name_is_served_through_the_model_map(claude):
    message = claude.messages.create(
        model="claude-sonnet-5-5", max_tokens=64, messages=ask("mapped")
    )
    assert message.content[0].text == "mapped" and message.model == "claude-sonnet-5-5"


def test_a_message_streams_in_pieces(claude):
    with claude.messages.stream(
        model="echo+chunk:3", max_tokens=64, messages=ask("streamed text")
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "streamed text" and len(pieces) == 5
    assert final.content[0].text == "streamed text" and final.usage.output_tokens > 0


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("model", "thought"),
    [
        ("echo+think", "Let me think about this."),
        ("echo+reasoning-content", "First, I read the question. Then I answer it."),
        ("echo+reasoning-content:reasoning", "First, I read the question. Then I answer it."),
    ],
    ids=["think tags", "reasoning_content", "reasoning"],
)
def test_thinking_comes_back_as_a_signed_thinking_block(claude, model, thought, streamed):
    kwargs = {"model": model, "max_tokens": 64, "thinking": THINK, "messages": ask("The answer.")}
    if streamed:
        with claude.messages.stream(**kwargs) as stream:
            message = stream.get_final_message()
    else:
        message = claude.messages.create(**kwargs)
    thinking, text = message.content
    assert (thinking.type, thinking.thinking) == ("thinking", thought)
    assert thinking.signature.startswith("llmp-")
    assert text.text == "The answer."


@pytest.mark.parametrize("model", ["echo+think", "echo+reasoning-content", "keep+think"])
def test_without_thinking_asked_no_thinking_reaches_the_client(claude, model):
    with claude.messages.stream(model=model, max_tokens=64, messages=ask("Plain.")) as stream:
        message = stream.get_final_message()
    assert [(b.type, b.text) for b in message.content] == [("text", "Plain.")]


def test_omitted_thinking_keeps_the_block_without_its_text(claude):
    message = claude.messages.create(
        model="echo+think",
        max_tokens=64,
        thinking={"type": "adaptive", "display": "omitted"},
        messages=ask("Short."),
    )
    assert message.content[0].type == "thinking" and message.content[0].thinking == ""
    assert message.content[0].signature and message.content[1].text == "Short."


def test_a_streamed_tool_call_arrives_in_pieces(claude):
    arguments = '{"command": "ls -la /tmp"}'
    with claude.messages.stream(
        model="tool:Bash+chunk:5", max_tokens=64, tools=[BASH], messages=ask(arguments)
    ) as stream:
        pieces = [e.partial_json for e in stream if e.type == "input_json"]
        message = stream.get_final_message()
    assert len(pieces) > 3 and "".join(pieces) == arguments
    (call,) = message.content
    assert (call.type, call.name, call.input) == ("tool_use", "Bash", {"command": "ls -la /tmp"})
    assert message.stop_reason == "tool_use"


def test_tool_results_go_back_to_the_model(claude, fake):
    first = claude.messages.create(
        model="agent", max_tokens=64, tools=[BASH], messages=ask('CALL Bash {"command": "ls"}')
    )
    (call,) = first.content
    assert (call.name, call.input) == ("Bash", {"command": "ls"})
    history = [
        *ask('CALL Bash {"command": "ls"}'),
        {"role": "assistant", "content": [call.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "a.txt b.txt"}],
        },
    ]
    second = claude.messages.create(model="agent", max_tokens=64, tools=[BASH], messages=history)
    assert second.content[0].text == "Done. The tool said: a.txt b.txt"
    seen = httpx.get(f"{fake}/_fake/last").json()["body"]["messages"]
    assert seen[-2]["tool_calls"][0]["id"] == call.id
    assert seen[-1] == {"role": "tool", "tool_call_id": call.id, "content": "a.txt b.txt"}


def test_tokens_are_counted_over_system_messages_and_tools(claude):
    def count(**extra) -> int:
        return claude.messages.count_tokens(model="claude-x", **extra).input_tokens

    small = count(messages=ask("Hello"))
    assert small > 0
    assert count(messages=ask("Hello " * 100)) > small + 90
    assert count(messages=ask("Hello"), system="You answer in French, briefly.") > small
    assert count(messages=ask("Hello"), tools=[BASH]) > small


def test_a_silent_upstream_gets_pings_on_the_stream(messages_gateway):
    body = {"model": "echo+delay:300", "max_tokens": 9, "stream": True, "messages": ask("a b")}
    response = httpx.post(f"{messages_gateway[1]}/v1/messages", json=body, timeout=30)
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert "ping" in names


def test_a_failure_after_the_stream_started_is_an_error_event(claude, messages_gateway):
    body = {
        "model": "echo+drop-after:3",
        "max_tokens": 9,
        "stream": True,
        "messages": ask("a b c d"),
    }
    response = httpx.post(f"{messages_gateway[1]}/v1/messages", json=body, timeout=30)
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"] == "api_error"
    with (
        pytest.raises(anthropic.APIStatusError),
        claude.messages.stream(
            model="echo+drop-after:3", max_tokens=9, messages=ask("a b c d")
        ) as stream,
    ):
        stream.get_final_message()


@pytest.mark.parametrize(
    ("model", "status", "kind", "error"),
    [
        ("status:400", 400, "invalid_request_error", anthropic.BadRequestError),
        ("status:404", 404, "not_found_error", anthropic.NotFoundError),
        ("status:429", 429, "rate_limit_error", anthropic.RateLimitError),
        ("status:500", 500, "api_error", anthropic.InternalServerError),
        ("status:502", 502, "api_error", anthropic.InternalServerError),
        ("status:504", 504, "api_error", anthropic.InternalServerError),
    ],
)
def test_upstream_errors_have_anthropics_types(claude, model, status, kind, error):
    with pytest.raises(error) as caught:
        claude.messages.create(model=model, max_tokens=9, messages=ask("x"))
    assert caught.value.status_code == status
    assert caught.value.body["error"]["type"] == kind
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "7"


def test_gateway_refusals_have_anthropics_types(claude, messages_gateway):
    with pytest.raises(anthropic.BadRequestError) as bad:
        claude.messages.create(model="echo", max_tokens=9, messages=[])
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.AuthenticationError) as wrong:
        claude.with_options(api_key="llmp_not-a-key").messages.create(
            model="echo", max_tokens=9, messages=ask("x")
        )
    assert wrong.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.APIStatusError) as big:
        claude.messages.create(model="echo", max_tokens=9, messages=ask("x" * 200_000))
    assert big.value.status_code == 413 and big.value.body["error"]["type"] == "request_too_large"


def issue_key(proc, allowed: str) -> str:
    code = (
        "from routing.models import GatewayKey; "
        f"k = GatewayKey(name='anthropic-e2e', allowed_models={allowed!r}); "
        "s = k.issue(); k.save(); print(s)"
    )
    run = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env=proc.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return run.stdout.strip().splitlines()[-1]


def test_a_key_may_not_use_other_models(messages_gateway):
    proc, url = messages_gateway
    keyed = anthropic.Anthropic(base_url=url, api_key=issue_key(proc, "echo"), max_retries=0)
    deadline = time.monotonic() + 10
    while True:  # until the gateway has picked the new key up
        try:
            keyed.messages.create(model="echo", max_tokens=9, messages=ask("x"))
            break
        except anthropic.AuthenticationError:
            assert time.monotonic() < deadline, "the key was never accepted"
            time.sleep(0.1)
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        keyed.messages.create(model="inspect", max_tokens=9, messages=ask("x"))
    assert refused.value.body["error"]["type"] == "permission_error"


def test_a_full_upstream_queue_is_overloaded(claude, fake):
    before = httpx.get(f"{fake}/_fake/stats").json()["requests"]
    slow = threading.Thread(
        target=lambda: claude.messages.create(
            model="busy+ttfb:1500", max_tokens=9, messages=ask("x")
        )
    )
    slow.start()
    try:
        deadline = time.monotonic() + 10
        while httpx.get(f"{fake}/_fake/stats").json()["requests"] == before:
            assert time.monotonic() < deadline, "the slow request never reached the upstream"
            time.sleep(0.02)
        with pytest.raises(anthropic.APIStatusError) as caught:
            claude.messages.create(model="busy", max_tokens=9, messages=ask("y"))
    finally:
        slow.join()
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"


def test_metrics_count_the_anthropic_service(claude, messages_gateway):
    claude.messages.create(model="echo", max_tokens=9, messages=ask("counted"))
    deadline = time.monotonic() + 10
    while 'service="anthropic"' not in (text := httpx.get(f"{messages_gateway[1]}/metrics").text):
        assert time.monotonic() < deadline, text[-2000:]
        time.sleep(0.1)
    assert 'endpoint="/v1/messages"' in text
