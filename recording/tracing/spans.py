"""What a finished request says as OpenTelemetry attributes, by the GenAI conventions
(gen_ai.*), plus the gateway's own (llmproxy.*). Keys are never written; secrets in
captured content and error texts are redacted like the log."""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from routing.core.exchange import OK, Exchange

OPERATIONS = {"chat": "chat", "text": "text_completion", "embeddings": "embeddings"}


def operation(exchange: Exchange) -> str:
    return OPERATIONS.get(exchange.kind, exchange.kind or "chat")


def span_name(exchange: Exchange) -> str:
    model = exchange.model_in or "unknown"
    return f"{operation(exchange)} {model}"


def _address(base_url: str) -> tuple[str, int | None]:
    parts = urlsplit(base_url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "", parts.port or (default if parts.hostname else None)


def request_attributes(exchange: Exchange, tokens: tuple[int | None, int | None, bool]) -> dict:
    decision = exchange.decision
    body = exchange.client_body
    host, port = _address(decision.upstream.base_url)
    prompt, completion, estimated = tokens
    found = {
        "gen_ai.operation.name": operation(exchange),
        "gen_ai.provider.name": decision.upstream.api,
        "gen_ai.request.model": exchange.model_in,
        "gen_ai.response.model": decision.model,
        "gen_ai.request.max_tokens": body.get("max_tokens") or body.get("max_completion_tokens"),
        "gen_ai.request.temperature": body.get("temperature"),
        "gen_ai.request.top_p": body.get("top_p"),
        "gen_ai.response.id": exchange.reply.id or None,
        "gen_ai.usage.input_tokens": prompt,
        "gen_ai.usage.output_tokens": completion,
        "server.address": host or None,
        "server.port": port,
        "http.request.method": "POST",
        "url.path": exchange.endpoint,
        "http.response.status_code": exchange.status,
        "llmproxy.request_id": str(exchange.id),
        "llmproxy.client_api": exchange.service,
        "llmproxy.route": decision.route,
        "llmproxy.upstream": decision.upstream.name or None,
        "llmproxy.workflow": exchange.workflow,
        "llmproxy.gateway_key": exchange.gateway_key or None,
        "llmproxy.cache_hit": exchange.cache_hit,
        "llmproxy.stream": exchange.stream,
        "llmproxy.state": exchange.state,
        "llmproxy.tokens_estimated": estimated,
    }
    if exchange.reply.finish_reason:
        found["gen_ai.response.finish_reasons"] = [exchange.reply.finish_reason]
    if exchange.state != OK:
        found["error.type"] = str(exchange.status or exchange.state)
    return {k: v for k, v in found.items() if v is not None}


def content_attributes(exchange: Exchange, redact) -> dict:
    """Prompts and the reply (tool calls included), only when the operator asked for them."""
    body = exchange.client_body
    found = {}
    if isinstance(body.get("messages"), list):
        found["gen_ai.input.messages"] = orjson.dumps(redact(body["messages"])).decode()
    elif "prompt" in body:
        found["gen_ai.input.messages"] = orjson.dumps(redact(body["prompt"])).decode()
    if exchange.state == OK:
        message = redact(exchange.reply.message())
        found["gen_ai.output.messages"] = orjson.dumps([message]).decode()
    return found


def attempt_attributes(attempt: dict, redact_text) -> dict:
    found = {
        "llmproxy.upstream": attempt.get("upstream", ""),
        "http.response.status_code": attempt.get("status"),
        "llmproxy.attempt_ms": attempt.get("ms"),
    }
    if attempt.get("error"):
        found["error.type"] = str(attempt.get("status"))
        found["llmproxy.error"] = redact_text(attempt["error"])
    return {k: v for k, v in found.items() if v is not None}
