"""Turns a starting or finished Exchange into row values (on the writer thread, not the loop).

Rows are plain {attribute: value} dicts for recording.bulk.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import orjson
from django.conf import settings

from recording.capture import digest, session_keys, training_messages, turns
from routing.core.exchange import EMBEDDINGS, OK, PASSTHROUGH, Exchange
from routing.core.redaction import redact_body, redact_headers, redact_json, redact_text
from routing.core.request_secrets import secrets_of
from routing.models import compress
from routing.pipeline.usage import count_tokens, reported_usage
from routing.streams import tokens

log = logging.getLogger(__name__)
ERROR_LIMIT = 2000


def started_at(exchange: Exchange) -> datetime:
    return datetime.fromtimestamp(exchange.started_at, UTC)


def start_fields(exchange: Exchange) -> dict:
    decision = exchange.decision
    return {
        "id": exchange.id,
        "started_at": started_at(exchange),
        "service": exchange.service,
        "kind": exchange.kind,
        "endpoint": exchange.endpoint[:64],
        "client": exchange.client[:64],
        "node": settings.NODE_NAME[:128],
        "workflow": exchange.workflow,
        "upstream": decision.upstream.name[:100],
        "route": (decision.route or "")[:100],
        "model_in": exchange.model_in[:200],
        "model_out": decision.model[:200],
        "stream": exchange.stream,
        "bytes_in": bytes_in(exchange),
        "cache_hit": exchange.cache_hit,
        "gateway_key": exchange.gateway_key[:100],
        "details": exchange.details or None,
    }


def bytes_in(exchange: Exchange) -> int:
    return exchange.bytes_in if exchange.bytes_in is not None else len(exchange.raw_request)


def _reported_prompt(exchange: Exchange) -> int | None:
    prompt = (exchange.usage or {}).get("prompt_tokens")
    return prompt if isinstance(prompt, int) else None


def counting_model(exchange: Exchange) -> str | None:
    """The model whose tokenizer the finished row will need, if the upstream gave no usage."""
    if exchange.kind == PASSTHROUGH:
        return None  # counted only when the upstream says
    if exchange.kind == EMBEDDINGS:
        return None if _reported_prompt(exchange) is not None else exchange.decision.model
    return None if reported_usage(exchange) else exchange.decision.model


def _embedding_tokens(exchange: Exchange) -> tuple[int | None, int | None, bool]:
    """Embeddings have prompt tokens only: the upstream's, else the inputs counted."""
    if (prompt := _reported_prompt(exchange)) is not None:
        return prompt, None, bool(exchange.usage.get("estimated"))
    try:
        return tokens.count_inputs(exchange.body.get("input"), exchange.decision.model), None, True
    except Exception:  # a best effort, as for chat
        log.warning("could not count tokens for %s", exchange.id, exc_info=True)
        return None, None, False


def usage_tokens(exchange: Exchange) -> tuple[int | None, int | None, bool]:
    if exchange.kind == EMBEDDINGS:
        return _embedding_tokens(exchange)
    if exchange.kind == PASSTHROUGH:
        usage = exchange.usage or {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        return (
            prompt if isinstance(prompt, int) else None,
            completion if isinstance(completion, int) else None,
            False,
        )
    if reported := reported_usage(exchange):
        return *reported, bool(exchange.usage.get("estimated"))
    try:
        return *count_tokens(exchange), True
    except Exception:  # counting is a best effort: a row without counts beats no row
        log.warning("could not count tokens for %s", exchange.id, exc_info=True)
        return None, None, False


def finish_fields(exchange: Exchange, count: bool = True) -> dict:
    """The row's fields known at the end; `count=False` leaves out counting tokens (it needs
    the tokenizer, which the request path must not load)."""
    if count:
        prompt, completion, estimated = usage_tokens(exchange)
    else:
        usage = exchange.usage or {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        estimated = bool(usage.get("estimated"))
    duration = exchange.duration_ms
    return {
        "upstream": exchange.decision.upstream.name[:100],  # the target that answered
        "model_out": exchange.decision.model[:200],
        "finished_at": started_at(exchange) + timedelta(milliseconds=duration or 0),
        "state": exchange.state,
        "status": exchange.status,
        "duration_ms": duration,
        "ttft_ms": exchange.ttft_ms,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens_estimated": estimated,
        "bytes_out": exchange.bytes_out,
        "error": redact_text(exchange.error, secrets_of(exchange))[:ERROR_LIMIT],
        "attempts": exchange.attempts if len(exchange.attempts) > 1 else None,
        "cache_hit": exchange.cache_hit,
        "bytes_in": bytes_in(exchange),  # a streamed upload is counted as it goes
        "details": exchange.details or None,
    }


def body_row(exchange: Exchange) -> dict:
    secrets = secrets_of(exchange)
    response = b"".join(exchange.delivered)
    text = response.decode("utf-8", "replace")
    if (redacted := redact_text(text, secrets)) != text:
        response = redacted.encode()
    headers = orjson.dumps(redact_headers(exchange.request_headers, secrets))
    return {
        "request_id": exchange.id,
        "request_headers": compress(headers),
        "request_body": compress(redact_body(exchange.raw_request, secrets)),
        "response_body": compress(response),
        "truncated": exchange.bytes_out > settings.MAX_BODY_LOG_BYTES,
    }


def conversation_row(exchange: Exchange, fields: dict) -> dict | None:
    if exchange.state != OK or exchange.kind in (EMBEDDINGS, PASSTHROUGH):
        return None  # only conversations are training data
    secrets = secrets_of(exchange)
    body = redact_json(exchange.client_body, secrets)
    messages = training_messages(
        body,
        exchange.kind,
        redact_json(exchange.reply.message(), secrets),
        exchange.reply.finish_reason,
    )
    if messages is None:
        return None
    tools = body.get("tools") if isinstance(body.get("tools"), list) else None
    chain, earlier = session_keys(messages)
    return {
        "request_id": exchange.id,
        "workflow": exchange.workflow,
        "model": exchange.decision.model[:200],
        "model_in": exchange.model_in[:200],
        "created_at": fields["finished_at"],
        "messages": messages,
        "tools": tools,
        "finish_reason": exchange.reply.finish_reason or "",
        "gateway_key": exchange.gateway_key[:100],
        "prompt_tokens": fields["prompt_tokens"],
        "completion_tokens": fields["completion_tokens"],
        "digest": digest(messages),
        "chain_digest": chain,
        "turns": turns(messages),
        "extends": earlier,  # not a column: the conversations this one may replace
    }


def log_row(exchange: Exchange, finished: bool) -> tuple[dict, dict]:
    """The whole row (start fields, plus finish fields when finished) and the finish part."""
    fields = start_fields(exchange)
    finish = finish_fields(exchange) if finished else {}
    return {**fields, **finish}, finish


def journal_row(exchange: Exchange) -> dict:
    """The row of a finished request, cheap enough to write before its answer ends."""
    return {**start_fields(exchange), **finish_fields(exchange, count=False)}
