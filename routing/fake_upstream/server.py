"""The fake upstream's ASGI server: routes, errors, pauses, and streams that can be cut.

GET /_fake/stats counts streams started, completed and abandoned by the client, and the
bytes of stream events sent; GET /_fake/abandoned lists when each abandoned stream noticed
its client was gone (wall clock) with its prompt; GET /_fake/last shows the last request.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import orjson

from routing.fake_upstream import reasoning
from routing.fake_upstream.behaviour import (
    agent_turn,
    parse_behaviour,
    pieces,
    prompt_text,
    reply_text,
)
from routing.fake_upstream.extras import extra_handler
from routing.fake_upstream.replies import events as events_of
from routing.fake_upstream.replies import whole

DEFAULT_MODELS = ["echo", "fake-llama-3-8b", "fake-qwen3-4b"]


class DropConnection(Exception):
    """Raised mid-response so the server closes the socket without finishing the body."""


class FakeUpstream:
    def __init__(self, models: list[str] | None = None, name: str = "fake") -> None:
        self.models = models or DEFAULT_MODELS
        self.name = name  # reported as system_fingerprint, to tell upstreams apart
        self.stats = {
            "requests": 0,
            "streams_started": 0,
            "streams_completed": 0,
            "streams_abandoned": 0,
            "active_streams": 0,
            "bytes_streamed": 0,
        }
        self.abandoned: deque[dict] = deque(maxlen=10_000)
        self.last: dict = {}

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method == "GET" and path in ("/v1/models", "/models"):
            data = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
                for m in self.models
            ]
            return await self.json(send, 200, {"object": "list", "data": data})
        if method == "GET" and path == "/_fake/stats":
            return await self.json(send, 200, self.stats)
        if method == "GET" and path == "/_fake/last":
            return await self.json(send, 200, self.last)
        if method == "GET" and path == "/_fake/abandoned":
            return await self.json(send, 200, list(self.abandoned))
        if method == "POST" and path == "/v1/traces":  # an OTLP sink, to try tracing against
            return await self.accept_traces(receive, send)
        if method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            return await self.complete(scope, receive, send, path.endswith("chat/completions"))
        if (handler := extra_handler(method, path)) is not None:
            return await handler(scope, receive, send)
        await self.json(send, 404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    async def accept_traces(self, receive, send) -> None:
        while (await receive()).get("more_body"):
            pass
        self.stats["trace_exports"] = self.stats.get("trace_exports", 0) + 1
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/x-protobuf")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def json(self, send, status: int, data: object, extra: list | None = None) -> None:
        payload = orjson.dumps(data)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *(extra or [])],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def complete(self, scope: dict, receive, send, chat: bool) -> None:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        body = orjson.loads(raw)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.stats["requests"] += 1
        self.last = {"body": body, "headers": headers, "path": scope["path"]}
        how = parse_behaviour(str(body.get("model", "echo")))
        gone = asyncio.Event()
        watcher = asyncio.create_task(self.watch(receive, gone))
        try:
            await self.answer(send, body, how, headers, chat, gone)
        finally:
            watcher.cancel()

    async def watch(self, receive, gone: asyncio.Event) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    async def pause(self, ms: str | None, gone: asyncio.Event) -> bool:
        """Wait `ms` (forever if None); True if the client left meanwhile."""
        try:
            await asyncio.wait_for(gone.wait(), None if ms is None else int(ms) / 1000)
        except TimeoutError:
            return False
        return True

    async def answer(self, send, body, how, headers, chat: bool, gone: asyncio.Event) -> None:
        if ("hang" in how or "ttfb" in how) and await self.pause(how.get("ttfb"), gone):
            return
        for key, text_body in (("status", False), ("text-error", True)):
            if key in how:
                echoed = orjson.dumps(headers).decode() if "inspect" in how else ""
                return await self.error(
                    send, int(how[key]), text_body, echoed, how.get("retry-after")
                )
        try:
            if "agent" in how:
                text, call = agent_turn(body)
                how = {k: v for k, v in how.items() if k != "tool"} | (
                    {"tool": call} if call else {}
                )
            else:
                text = reply_text(body, how, headers)
            parts = pieces(text, how)
        except (TypeError, ValueError, AttributeError):  # nonsense in: refused, as a server would
            return await self.error(send, 400, False)
        if not body.get("stream"):
            if "delay" in how and await self.pause(how["delay"], gone):
                return
            data = whole(body, text, parts, how, chat, self.name)
            if "reasoning-content" in how:
                data = reasoning.add_to_whole(data, how)
            return await self.json(send, 200, data)
        await self.stream(send, body, parts, how, chat, gone)

    async def error(
        self, send, status: int, plain: bool, echoed: str = "", retry_after: str | None = None
    ) -> None:
        retry_after = retry_after if retry_after is not None else ("7" if status == 429 else "")
        extra = [(b"retry-after", retry_after.encode())] if retry_after else []
        if plain:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"text/plain"), *extra],
                }
            )
            return await send({"type": "http.response.body", "body": b"upstream exploded"})
        error = {
            "error": {
                "message": f"fake error {status}{': ' + echoed if echoed else ''}",
                "type": "fake_error",
                "param": None,
                "code": str(status),
            }
        }
        await self.json(send, status, error, extra)

    def abandon(self, body: dict) -> None:
        self.stats["streams_abandoned"] += 1
        self.abandoned.append({"prompt": prompt_text(body)[:200], "at": time.time()})

    async def stream(self, send, body, parts, how, chat: bool, gone: asyncio.Event) -> None:
        events = events_of(body, parts, how, chat, self.name)
        if "reasoning-content" in how:
            events = reasoning.add_to_events(events, body, how)
        self.stats["streams_started"] += 1
        self.stats["active_streams"] += 1
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream"),
                        (b"cache-control", b"no-cache"),
                    ],
                }
            )
            if "coalesce" in how:
                events = [b"".join(events)]
            for i, event in enumerate(events):
                if i and "delay" in how and await self.pause(how["delay"], gone):
                    return self.abandon(body)
                if gone.is_set():
                    return self.abandon(body)
                if str(i) == how.get("hang-after"):
                    await self.pause(None, gone)
                    return self.abandon(body)
                if str(i) == how.get("drop-after"):
                    raise DropConnection
                await send({"type": "http.response.body", "body": event, "more_body": True})
                self.stats["bytes_streamed"] += len(event)
            await send({"type": "http.response.body", "body": b""})
            self.stats["streams_completed"] += 1
        finally:
            self.stats["active_streams"] -= 1


def run(host: str, port: int, models: list[str] | None = None, name: str = "fake") -> None:
    import logging

    import uvicorn

    class _QuietDrops(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "DropConnection" not in record.getMessage() and not (
                record.exc_info and record.exc_info[0] is DropConnection
            )

    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    uvicorn.run(
        FakeUpstream(models, name),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )
