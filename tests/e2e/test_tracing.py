"""Traces end to end: a real gateway exports to a real Arize Phoenix, and the spans read back
through Phoenix's API carry the GenAI attributes, the attempts and the first token."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.phoenix import Phoenix
from tests.e2e.procs import free_port, start_gateway

pytestmark = pytest.mark.e2e
PROJECT = "llmproxy-e2e"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
ROUTES = """
upstreams:
  - {name: dead, url: "DEAD"}
  - {name: fake, url: "FAKE"}
routes:
  - name: fallback
    match: {model: fallback-test}
    route:
      strategy: fallback
      targets: [{upstream: dead, model: echo}, {upstream: fake, model: echo}]
"""


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory):
    receiver = Phoenix(tmp_path_factory.mktemp("phoenix"))
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced(tmp_path_factory, phoenix, fake):
    tmp = tmp_path_factory.mktemp("traced")
    routes = tmp / "routes.yaml"
    routes.write_text(
        ROUTES.replace("DEAD", f"http://127.0.0.1:{free_port()}").replace("FAKE", fake)
    )
    ollama_port = free_port()
    proc, url = start_gateway(
        tmp,
        fake,
        ROUTES_CONFIG=str(routes),
        OLLAMA_PORT=str(ollama_port),
        OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={PROJECT}",
    )
    yield url, f"http://127.0.0.1:{ollama_port}"
    proc.stop()


def spans_of(phoenix: Phoenix, request_ids: set[str], timeout: float = 30.0) -> dict[str, dict]:
    """Each request's span by request id, with its attempt children under "children"."""
    deadline = time.monotonic() + timeout
    while True:
        spans = phoenix.spans(PROJECT)
        found = {
            s["attributes"].get("llmproxy.request_id"): s
            for s in spans
            if s["attributes"].get("llmproxy.request_id") in request_ids
        }
        if len(found) == len(request_ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(found) == request_ids, f"spans of {set(found)} only"
    for span in found.values():
        span["children"] = [s for s in spans if s["parent_id"] == span["context"]["span_id"]]
    return found


def test_chats_of_both_apis_and_a_fallback_are_spans_in_phoenix(traced, phoenix):
    import ollama
    import openai

    url, ollama_url = traced
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
    whole = client.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "secret recipe"}], max_tokens=50
    )
    stream = client.chat.completions.with_raw_response.create(
        model="echo+chunk:2", messages=[{"role": "user", "content": "hello there"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)
    fallback = client.chat.completions.with_raw_response.create(
        model="fallback-test", messages=[{"role": "user", "content": "hi"}]
    )
    with httpx.Client(base_url=ollama_url) as raw:
        chat = raw.post(
            "/api/chat",
            json={
                "model": "echo",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": False,
            },
        )
    assert chat.status_code == 200 and ollama.ChatResponse(**chat.json()).message.content
    ids = {
        "whole": whole.headers["x-request-id"],
        "stream": stream.headers["x-request-id"],
        "fallback": fallback.headers["x-request-id"],
        "ollama": chat.headers["x-request-id"],
    }
    spans = spans_of(phoenix, set(ids.values()))

    span = spans[ids["whole"]]
    a = span["attributes"]
    assert span["name"] == "chat echo"
    assert (a["gen_ai.operation.name"], a["gen_ai.provider.name"]) == ("chat", "openai")
    assert (a["gen_ai.request.model"], a["gen_ai.response.model"]) == ("echo", "echo")
    assert a["gen_ai.request.max_tokens"] == 50
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["gen_ai.response.id"] == "cmpl-fake"
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["server.address"] == "127.0.0.1" and a["http.response.status_code"] == 200
    assert (a["llmproxy.client_api"], a["llmproxy.upstream"]) == ("openai", "default")
    assert "gen_ai.input.messages" not in a and "secret recipe" not in str(span)
    assert [c["name"] for c in span["children"]] == ["attempt default"]

    stream_span = spans[ids["stream"]]
    (first,) = [e for e in stream_span["events"] if e["name"] == "gen_ai.first_token"]
    assert stream_span["start_time"] < first["timestamp"] <= stream_span["end_time"]
    assert stream_span["attributes"]["llmproxy.stream"] is True

    assert spans[ids["ollama"]]["attributes"]["llmproxy.client_api"] == "ollama"

    fell_back = spans[ids["fallback"]]
    assert fell_back["attributes"]["llmproxy.route"] == "fallback"
    attempts = sorted(fell_back["children"], key=lambda c: c["start_time"])
    assert [c["name"] for c in attempts] == ["attempt dead", "attempt fake"]
    assert attempts[0]["status_code"] == "ERROR"
    assert attempts[0]["attributes"]["http.response.status_code"] == 502
    assert attempts[1]["attributes"]["http.response.status_code"] == 200


def test_every_client_api_is_named_on_its_span(traced, phoenix):
    import anthropic
    import openai

    url, _ = traced
    messages = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
    message = messages.messages.with_raw_response.create(
        model="echo", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
    )
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
    response = client.responses.with_raw_response.create(model="echo", input="hello")
    embedded = client.embeddings.with_raw_response.create(model="echo", input=["a", "b"])
    ids = {
        "anthropic": message.headers["x-request-id"],
        "responses": response.headers["x-request-id"],
        "embeddings": embedded.headers["x-request-id"],
    }
    spans = spans_of(phoenix, set(ids.values()))
    assert spans[ids["anthropic"]]["attributes"]["llmproxy.client_api"] == "anthropic"
    assert spans[ids["responses"]]["attributes"]["llmproxy.client_api"] == "responses"
    assert spans[ids["anthropic"]]["attributes"]["gen_ai.operation.name"] == "chat"
    assert spans[ids["embeddings"]]["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert spans[ids["embeddings"]]["name"] == "embeddings echo"


def test_the_upstream_receives_a_traceparent_of_the_callers_trace(traced, phoenix, fake):
    url, _ = traced
    caller = f"00-{TRACE_ID}-b7ad6b7169203331-01"
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "echo", "messages": [{"role": "user", "content": "trace me"}]},
        headers={"traceparent": caller},
    )
    assert response.status_code == 200
    sent = httpx.get(f"{fake}/_fake/last").json()["headers"]["traceparent"]
    _, trace_id, parent, flags = sent.split("-")
    assert (trace_id, flags) == (TRACE_ID, "01") and parent != "b7ad6b7169203331"
    span = spans_of(phoenix, {response.headers["x-request-id"]})[response.headers["x-request-id"]]
    assert span["context"]["trace_id"] == TRACE_ID
    assert span["context"]["span_id"] == parent
    assert span["parent_id"] == "b7ad6b7169203331"
