"""Traces in-process: one span per request with the GenAI attributes, a child per attempt, the
first token as an event, content only when asked, and the caller's trace continued upstream."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import respx
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmproxy.tracing_env import TracingConfig
from recording.tracing import runtime
from tests.routing.helpers import chat_reply, sse_response

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi, my secret plan"}]}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
CONFIG = TracingConfig(enabled=True, endpoint="http://collector.test/v1/traces", delay_seconds=0.05)


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    runtime.start_tracing(CONFIG, exporter)

    def finished(n: int):
        runtime.current().flush()
        found = exporter.get_finished_spans()
        assert len(found) >= n, f"{len(found)} spans, wanted {n}"
        return {span.name: span for span in found}

    yield finished
    runtime.stop_tracing()


async def test_a_chat_is_one_span_with_the_genai_attributes(gateway, upstream, spans):
    upstream.post(CHAT).respond(json=chat_reply("hello", model="served-m"))
    body = {**HELLO, "max_tokens": 20, "temperature": 0.3, "top_p": 0.9}
    assert (await gateway.post(CHAT, json=body)).status_code == 200
    span = spans(2)["chat m"]
    a = span.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert (a["gen_ai.request.model"], a["gen_ai.response.model"]) == ("m", "m")
    assert (a["gen_ai.request.max_tokens"], a["gen_ai.request.temperature"]) == (20, 0.3)
    assert a["gen_ai.request.top_p"] == 0.9
    assert list(a["gen_ai.response.finish_reasons"]) == ["stop"]
    assert a["gen_ai.response.id"] == "chatcmpl-1"
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (3, 2)
    assert (a["server.address"], a["server.port"]) == ("upstream.test", 80)
    assert a["http.response.status_code"] == 200
    assert a["llmproxy.client_api"] == "openai"
    assert a["llmproxy.upstream"] == "default"
    assert a["llmproxy.tokens_estimated"] is False
    assert not any(key.startswith("gen_ai.input") or key.startswith("gen_ai.output") for key in a)
    assert span.end_time > span.start_time


async def test_each_attempt_is_a_child_span(gateway, settings, spans):
    settings.DEFAULT_UPSTREAM = "http://a.test,http://b.test"
    with respx.mock() as mock:
        mock.post("http://a.test/v1/chat/completions").respond(503, json={"error": "loading"})
        mock.post("http://b.test/v1/chat/completions").respond(json=chat_reply("from b"))
        assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
    found = spans(3)
    request = found["chat m"]
    failed, good = found["attempt default"], found["attempt default-2"]
    assert failed.parent.span_id == good.parent.span_id == request.context.span_id
    assert failed.attributes["http.response.status_code"] == 503
    assert failed.attributes["error.type"] == "503"
    assert good.attributes["http.response.status_code"] == 200
    assert failed.start_time < good.start_time
    assert request.attributes["llmproxy.upstream"] == "default-2"


async def test_a_stream_has_its_first_token_as_an_event(gateway, upstream, spans):
    upstream.post(CHAT).mock(return_value=sse_response(["Hel", "lo"]))
    response = await gateway.post(CHAT, json={**HELLO, "stream": True})
    assert response.status_code == 200
    span = spans(2)["chat m"]
    (event,) = [e for e in span.events if e.name == "gen_ai.first_token"]
    assert span.start_time < event.timestamp <= span.end_time
    assert event.attributes["llmproxy.ttft_ms"] > 0
    assert span.attributes["llmproxy.stream"] is True


async def test_the_upstream_joins_the_callers_trace(gateway, upstream, spans):
    route = upstream.post(CHAT).respond(json=chat_reply("hello"))
    await gateway.post(CHAT, json=HELLO, headers={"traceparent": CALLER})
    sent = route.calls.last.request.headers["traceparent"]
    span = spans(2)["chat m"]
    assert sent.split("-")[1] == TRACE_ID == format(span.context.trace_id, "032x")
    assert sent.split("-")[2] == format(span.context.span_id, "016x")
    assert span.parent.span_id == int("00f067aa0ba902b7", 16)


async def test_content_is_captured_only_when_asked_and_redacted(gateway, upstream, spans):
    runtime.current().config = replace(CONFIG, capture_content=True)
    upstream.post(CHAT).respond(json=chat_reply("hello"))
    secret = "sk-live-abcdefghijklmnop1234"
    body = {**HELLO, "messages": [{"role": "user", "content": f"key {secret}"}]}
    await gateway.post(CHAT, json=body, headers={"Authorization": f"Bearer {secret}"})
    a = spans(2)["chat m"].attributes
    assert json.loads(a["gen_ai.output.messages"])[0]["content"] == "hello"
    assert "key " in a["gen_ai.input.messages"] and secret not in a["gen_ai.input.messages"]


async def test_a_refused_request_is_a_failed_span(gateway, settings, spans):
    settings.REQUIRE_GATEWAY_KEY = True
    assert (await gateway.post(CHAT, json=HELLO)).status_code == 401
    span = next(iter(spans(1).values()))
    assert span.attributes["error.type"] == "401"
    assert span.status.status_code.name == "ERROR"


class SlowCollector:
    """An exporter that never succeeds (a collector away)."""

    def export(self, spans):
        return SpanExportResult.FAILURE

    def shutdown(self):
        pass


async def test_a_collector_that_is_away_costs_requests_nothing_and_drops_are_counted(
    gateway, upstream
):
    from analytics import metrics

    before = metrics.TRACE_SPANS_DROPPED._value.get()
    runtime.start_tracing(replace(CONFIG, queue_size=4), SlowCollector())
    try:
        upstream.post(CHAT).respond(json=chat_reply("hello"))
        for _ in range(10):
            assert (await gateway.post(CHAT, json=HELLO)).status_code == 200
        runtime.current().flush()
        assert runtime.current().batcher.dropped >= 10
        assert metrics.TRACE_SPANS_DROPPED._value.get() - before >= 10
    finally:
        runtime.stop_tracing()


async def test_without_tracing_a_callers_traceparent_passes_untouched(gateway, upstream):
    route = upstream.post(CHAT).respond(json=chat_reply("hello"))
    assert runtime.current() is None
    await gateway.post(CHAT, json=HELLO, headers={"traceparent": CALLER})
    assert route.calls.last.request.headers["traceparent"] == CALLER


def test_bad_variables_stop_start_up_naming_them(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from llmproxy.tracing_env import read_tracing_config

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert read_tracing_config().endpoint == "http://collector:4318/v1/traces"
    for name, value in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign"),
        ("OTEL_RESOURCE_ATTRIBUTES", "=x"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe"),
    ]:
        with monkeypatch.context() as env:
            env.setenv(name, value)
            if name == "OTEL_TRACES_SAMPLER":
                env.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
            with pytest.raises(ImproperlyConfigured, match=name):
                read_tracing_config()


def test_sampler_and_off_switches(monkeypatch):
    from llmproxy.tracing_env import read_tracing_config

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://c.test/v1/traces")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    config = read_tracing_config()
    assert (config.enabled, config.sampler, config.ratio) == (
        True,
        "parentbased_traceidratio",
        0.25,
    )
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert read_tracing_config().enabled is False
