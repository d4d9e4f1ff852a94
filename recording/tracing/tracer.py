"""One span per request, with a child per upstream attempt, exported by OTLP.

The span opens when the request path announces a start (continuing the caller's
`traceparent`, and handing the upstream a `traceparent` of this trace); when the request
finishes, its attributes, events and children are written and it ends on a worker thread,
never on the event loop. With tracing off nothing here runs and a client's `traceparent`
passes to the upstream untouched, like any other header.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from recording.recorder import counting_model, usage_tokens
from recording.tracing.batcher import Batcher
from recording.tracing.spans import (
    attempt_attributes,
    content_attributes,
    request_attributes,
    span_name,
)
from routing.core.exchange import OK, Exchange
from routing.core.redaction import redact_json, redact_text
from routing.core.request_secrets import secrets_of

log = logging.getLogger(__name__)
FINISH_SECONDS = 0.1
SLICE = 20  # spans ended between two chances for requests to run
PROPAGATOR = TraceContextTextMapPropagator()
CONTEXT_HEADERS = ("traceparent", "tracestate")


def make_sampler(name: str, ratio: float) -> sampling.Sampler:
    root = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
    }[name.removeprefix("parentbased_")]
    return sampling.ParentBased(root) if name.startswith("parentbased_") else root


def make_exporter(config):
    if config.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(
        endpoint=config.endpoint, headers=config.headers, timeout=config.timeout_seconds
    )


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class Tracing:
    def __init__(self, config, exporter=None) -> None:
        self.config = config
        self.batcher = Batcher(
            exporter or make_exporter(config),
            config.queue_size,
            config.batch_size,
            config.delay_seconds,
        )
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by Resource.create.
        resource = Resource.create({"service.name": config.service_name})
        self.provider = TracerProvider(
            resource=resource, sampler=make_sampler(config.sampler, config.ratio)
        )
        self.provider.add_span_processor(self.batcher)
        self.tracer = self.provider.get_tracer("llmproxy")
        self._finished: deque[Exchange] = deque()

    # --- on the event loop: cheap -------------------------------------------------------
    def request_started(self, exchange: Exchange) -> None:
        carrier = {
            k.lower(): v for k, v in exchange.request_headers if k.lower() in CONTEXT_HEADERS
        }
        span = self.tracer.start_span(
            span_name(exchange),
            context=PROPAGATOR.extract(carrier),
            kind=SpanKind.SERVER,
            start_time=_ns(exchange.started_at),
        )
        exchange.span = span
        outgoing: dict[str, str] = {}
        PROPAGATOR.inject(outgoing, context=trace.set_span_in_context(span))
        if outgoing:  # the upstream joins this trace
            kept = [h for h in exchange.request_headers if h[0].lower() not in CONTEXT_HEADERS]
            exchange.request_headers = kept + list(outgoing.items())

    def request_finished(self, exchange: Exchange) -> None:
        if exchange.span is None:  # refused before it started (a bad key, a bad body)
            self.request_started(exchange)
        if len(self._finished) >= self.config.queue_size:
            self.batcher.count_dropped(1 + len(exchange.attempts))
            return
        self._finished.append(exchange)

    # --- a background task on the event loop, between requests ---------------------------
    async def run(self) -> None:
        """End the finished requests' spans a few at a time: threads would fight the event
        loop for the interpreter, and one at the end of each request would delay its last
        bytes."""
        while True:
            await asyncio.sleep(FINISH_SECONDS)
            while self._finished:
                batch = [self._finished.popleft() for _ in range(min(SLICE, len(self._finished)))]
                uncounted = [e for e in batch if counting_model(e) is not None]
                self.end_spans([e for e in batch if counting_model(e) is None])
                if uncounted:  # the tokenizer is slow: count in a thread
                    await asyncio.to_thread(self.end_spans, uncounted)
                await asyncio.sleep(0)

    def end_spans(self, exchanges: list[Exchange]) -> None:
        for exchange in exchanges:
            try:
                self.end_span(exchange)
            except Exception:  # one request's odd data must not stop the others
                log.warning("traces: no span for %s", exchange.id, exc_info=True)

    def wall(self, exchange: Exchange, mark: float) -> int:
        """A perf_counter mark of the exchange as wall-clock nanoseconds."""
        return _ns(exchange.started_at + (mark - exchange.started))

    def end_span(self, exchange: Exchange) -> None:
        span = exchange.span
        if not span.is_recording():
            return
        secrets = secrets_of(exchange)
        span.set_attributes(request_attributes(exchange, usage_tokens(exchange)))
        if self.config.capture_content:
            span.set_attributes(content_attributes(exchange, lambda v: redact_json(v, secrets)))
        if exchange.first_token_at is not None:
            span.add_event(
                "gen_ai.first_token",
                {"llmproxy.ttft_ms": round(exchange.ttft_ms or 0.0, 2)},
                timestamp=self.wall(exchange, exchange.first_token_at),
            )
        parent = trace.set_span_in_context(span)
        for attempt in exchange.attempts:
            start = _ns(exchange.started_at + attempt.get("at", 0.0) / 1000)
            child = self.tracer.start_span(
                f"attempt {attempt.get('upstream', '')}",
                context=parent,
                kind=SpanKind.CLIENT,
                start_time=start,
                attributes=attempt_attributes(attempt, lambda t: redact_text(t, secrets)),
            )
            if attempt.get("error"):
                child.set_status(Status(StatusCode.ERROR))
            child.end(end_time=start + _ns(attempt.get("ms", 0.0) / 1000))
        if exchange.state != OK:
            span.set_status(Status(StatusCode.ERROR, redact_text(exchange.error, secrets)[:200]))
        end = exchange.finished_at if exchange.finished_at is not None else exchange.started
        span.end(end_time=self.wall(exchange, end))

    def flush(self, timeout: float = 5.0) -> bool:
        """Finish and export what waits, here and now (tests, shutdown)."""
        waiting = list(self._finished)
        self._finished.clear()
        self.end_spans(waiting)
        return self.batcher.force_flush(int(timeout * 1000))

    def shutdown(self) -> None:
        self.flush()
        self.provider.shutdown()
