"""The response cache: identical requests of the same caller get a stored answer.

Keys hash the method, the path, the canonical body (key order and the `stream`
fields do not matter, so a stream can be served from a whole answer and the other
way round), the caller (its gateway key, its credentials, or its address, with every
credential-bearing header that goes upstream), the upstream and the model. Answers are
stored as OpenAI completions and replayed in the shape each API expects.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from datetime import timedelta
from time import perf_counter

import orjson
from django.conf import settings
from django.utils import timezone

from routing.core.exchange import OK, Exchange
from routing.core.redaction import is_secret_header, redact_json
from routing.core.request_secrets import secrets_of
from routing.guard.cache_store import store
from routing.models import CachedResponse, compress, decompress

UNKEYED = ("stream", "stream_options")
MEMORY_SECONDS = 30.0


def enabled_for(exchange: Exchange, request_headers: dict[str, str]) -> bool:
    """Cache this exchange? The route decides, else CACHE_ENABLED; no-cache bypasses."""
    on = exchange.decision.cache
    if on is None:
        on = settings.CACHE_ENABLED
    return on and "no-cache" not in request_headers.get("cache-control", "").lower()


# Forwarded headers that change who the upstream answers, without being secrets.
CALLER_HEADERS = frozenset(
    {"openai-organization", "openai-project", "x-forwarded-for", "forwarded", "x-real-ip"}
)


def caller(exchange: Exchange) -> str:
    """Whom an answer is for: the gateway key, else the client's credentials, else its
    address; and, in every case, every credential-bearing header that goes upstream (another
    upstream key, organisation, project or forwarded address is another caller)."""
    forwarded = sorted(
        (name.lower(), value)
        for name, value in exchange.request_headers
        if is_secret_header(name) or name.lower() in CALLER_HEADERS
    )
    credentials = hashlib.sha256(orjson.dumps(forwarded)).hexdigest()
    if exchange.gateway_key:
        return f"key:{exchange.gateway_key}:{credentials}"
    if any(is_secret_header(name) for name, _ in forwarded):
        return f"auth:{credentials}"
    return f"ip:{exchange.client}:{credentials}"


def cache_key(exchange: Exchange, method: str = "POST") -> str:
    body = {k: v for k, v in exchange.client_body.items() if k not in UNKEYED}
    decision = exchange.decision
    payload = orjson.dumps(
        [
            method,
            exchange.endpoint,
            body,
            caller(exchange),
            decision.upstream.base_url,
            decision.model,
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(payload).hexdigest()


class Recent:
    """The most used answers of this process, so that a hit costs no query (LRU, bounded).

    An entry is trusted for at most MEMORY_SECONDS: a purge in the admin, or an answer
    replaced by another process, is seen within that time.
    """

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.items: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    def get(self, key: str, now: float) -> dict | None:
        found = self.items.get(key)
        if found is None or found[0] <= now:
            self.items.pop(key, None)
            return None
        self.items.move_to_end(key)
        return found[1]

    def put(self, key: str, expires: float, data: dict) -> None:
        self.items[key] = (min(expires, time.time() + MEMORY_SECONDS), data)
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


recent = Recent()


async def lookup(key: str) -> dict | None:
    """The stored completion for `key`, if any and still fresh: from memory, else from the
    table (which other processes and nodes share)."""
    if (data := recent.get(key, time.time())) is not None:
        return data
    row = (
        await CachedResponse.objects.filter(key=key, expires_at__gt=timezone.now())
        .only("body", "expires_at")
        .afirst()
    )
    if row is None:
        return None
    try:
        data = orjson.loads(decompress(row.body))
    except (orjson.JSONDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    recent.put(key, row.expires_at.timestamp(), data)
    return data


def completion_of(exchange: Exchange, data: dict | None = None) -> dict | None:
    """What to store for a finished exchange, or None when it must not be cached."""
    reply = exchange.reply
    if reply.tool_calls and not exchange.decision.cache_tool_calls:
        return None
    if data is None and exchange.kind not in ("chat", "text"):
        return None  # other kinds hand over what to store, or nothing
    if data is None:  # a stream: store the reply as the client received it, assembled
        message = reply.message()
        choice = {"index": 0, "finish_reason": reply.finish_reason or "stop"}
        choice.update(
            {"message": message} if exchange.kind == "chat" else {"text": message["content"]}
        )
        data = {
            "object": "chat.completion" if exchange.kind == "chat" else "text_completion",
            "model": exchange.decision.model,
            "choices": [choice],
        }
        if exchange.usage:
            data["usage"] = {k: v for k, v in exchange.usage.items() if k != "estimated"}
    return data


def row_for(exchange: Exchange, key: str, completion: dict) -> dict:
    """The table row of an answer to keep; this process serves it from memory at once."""
    now = timezone.now()
    recent.put(key, now.timestamp() + settings.CACHE_TTL, completion)
    return {
        "key": key,
        "method": "POST",
        "path": exchange.endpoint[:64],
        "model": exchange.decision.model[:200],
        "status": 200,
        "content_type": "application/json",
        "body": compress(orjson.dumps(completion)),
        "created_at": now,
        "expires_at": now + timedelta(seconds=settings.CACHE_TTL),
    }


def stream_chunks(data: dict, kind: str, with_usage: bool) -> list[dict]:
    """A stored completion as the chunks of a stream (role, text, tool calls, finish)."""
    choice = next((c for c in data.get("choices") or () if isinstance(c, dict)), {})
    base = {
        "id": data.get("id", "cached"),
        "created": data.get("created", 0),
        "model": data.get("model"),
        "object": "chat.completion.chunk" if kind == "chat" else "text_completion",
    }
    finish = choice.get("finish_reason") or "stop"
    if kind != "chat":
        chunks = [
            {
                **base,
                "choices": [{"index": 0, "text": choice.get("text") or "", "finish_reason": None}],
            },
            {**base, "choices": [{"index": 0, "text": "", "finish_reason": finish}]},
        ]
    else:
        message = choice.get("message") or {}
        delta: dict = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            delta["tool_calls"] = [
                {**call, "index": i} for i, call in enumerate(message["tool_calls"])
            ]
        chunks = [
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        ]
    if with_usage and data.get("usage"):
        chunks.append({**base, "choices": [], "usage": data["usage"]})
    return chunks


async def consult(exchange: Exchange, request_headers: dict[str, str]) -> dict | None:
    """Look the exchange up; a hit is returned and noted on the exchange (nothing is sent)."""
    if not enabled_for(exchange, request_headers):
        return None
    exchange.cache_key = cache_key(exchange)
    stored = await lookup(exchange.cache_key)
    if stored is None:
        return None
    exchange.cache_hit = True
    exchange.first_byte_at = exchange.first_token_at = perf_counter()
    exchange.status = 200
    usage = stored.get("usage")
    exchange.usage = usage if isinstance(usage, dict) else None
    return stored


def x_cache(exchange: Exchange) -> dict[str, str]:
    if exchange.cache_key is None:
        return {}
    return {"X-Cache": "HIT" if exchange.cache_hit else "MISS"}


def remember(exchange: Exchange) -> None:
    """On a finished request: keep a good answer, or count the hit it was."""
    if exchange.cache_key is None:
        return
    if exchange.cache_hit:
        store.count_hit(exchange.cache_key)
        return
    if exchange.state != OK:
        return
    completion = completion_of(exchange, exchange.completion)
    if completion is not None:  # kept redacted, like the log: it is stored for a while
        completion = redact_json(completion, secrets_of(exchange))
        store.keep(row_for(exchange, exchange.cache_key, completion))
