"""A scripted OpenAI-style model server for trying the gateway, tests and benchmarks.

The model name chooses the behaviour: words joined by "+", for example
`echo+chunk:3+delay:50`. The reply text is the last user message (or prompt).

    echo            reply with the prompt (the default)
    inspect         reply with the JSON of the headers and body received
    tool            call the first tool offered, with the prompt as its JSON arguments
    words:N         reply with N words instead
    think           put "<think>…</think>" before the reply
    fence           wrap the reply in a ```json fence
    chunk:N         stream N characters per event (default: one word per event)
    split:A,B,…     stream pieces cut at these character offsets
    delay:MS        wait between events (or before a whole reply)
    ttfb:MS         wait before the first byte
    hang            never answer (until the client leaves)
    hang-after:N    stream N events, then go silent
    drop-after:N    stream N events, then drop the connection
    status:CODE     answer with that error status (429 carries Retry-After: 7)
    text-error:CODE answer with that status and a plain-text body
    malformed       send a line that is not JSON after the first event
    no-usage        leave out token usage
    no-done         end the stream without [DONE]
    crlf            separate events with CRLF
    coalesce        send all events in one write

GET /_fake/stats counts streams started, completed and abandoned by the client, and the
bytes of stream events sent; GET /_fake/abandoned lists when each abandoned stream noticed
its client was gone (wall clock) with its prompt; GET /_fake/last shows the last request.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import deque

import orjson

DEFAULT_MODELS = ["echo", "fake-llama-3-8b", "fake-qwen3-4b"]
WORD = re.compile(r"\s*\S+\s*|\s+")


class DropConnection(Exception):
    """Raised mid-response so the server closes the socket without finishing the body."""


def parse_behaviour(model: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in model.split("+"):
        name, _, arg = part.partition(":")
        found[name.strip()] = arg.strip()
    return found


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_text(body: dict) -> str:
    if "messages" in body:
        users = [m for m in body["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        return _content_text(users[-1].get("content")) if users else ""
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else " ".join(map(str, prompt))


def reply_text(body: dict, how: dict[str, str], headers: dict[str, str]) -> str:
    if "inspect" in how:
        return orjson.dumps({"headers": headers, "body": body}).decode()
    text = (
        " ".join(f"w{i}" for i in range(int(how["words"]))) if "words" in how else prompt_text(body)
    )
    if "fence" in how:
        text = f"```json\n{text}\n```"
    if "think" in how:
        text = f"<think>Let me think about this.</think>{text}"
    return text


def pieces(text: str, how: dict[str, str]) -> list[str]:
    if "split" in how:
        cuts = sorted({int(c) for c in how["split"].split(",") if c.strip()})
        bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
        return [text[a:b] for a, b in itertools.pairwise(bounds)]
    if "chunk" in how:
        size = max(int(how["chunk"]), 1)
        return [text[i : i + size] for i in range(0, len(text), size)]
    return WORD.findall(text) or [""]


def tool_name(body: dict) -> str:
    tools = body.get("tools") or [{}]
    return (tools[0].get("function") or {}).get("name", "tool")


def usage(body: dict, completion: list[str]) -> dict:
    prompt = len(prompt_text(body).split()) + 1
    done = max(len(completion), 1)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


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
        if method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            return await self.complete(scope, receive, send, path.endswith("chat/completions"))
        await self.json(send, 404, {"error": {"message": f"no route {path}", "type": "not_found"}})

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
                return await self.error(send, int(how[key]), text_body)
        try:
            text = reply_text(body, how, headers)
            parts = pieces(text, how)
        except (TypeError, ValueError, AttributeError):  # nonsense in: refused, as a server would
            return await self.error(send, 400, False)
        if not body.get("stream"):
            if "delay" in how and await self.pause(how["delay"], gone):
                return
            return await self.json(send, 200, self.whole(body, text, parts, how, chat))
        await self.stream(send, body, parts, how, chat, gone)

    async def error(self, send, status: int, plain: bool) -> None:
        extra = [(b"retry-after", b"7")] if status == 429 else []
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
                "message": f"fake error {status}",
                "type": "fake_error",
                "param": None,
                "code": str(status),
            }
        }
        await self.json(send, status, error, extra)

    def whole(self, body: dict, text: str, parts: list[str], how: dict, chat: bool) -> dict:
        choice = {"index": 0, "finish_reason": "stop", "logprobs": None}
        choice.update(
            {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        )
        if chat and "tool" in how:
            call = {
                "id": "call_fake",
                "type": "function",
                "function": {"name": tool_name(body), "arguments": text},
            }
            choice.update(
                finish_reason="tool_calls",
                message={"role": "assistant", "content": None, "tool_calls": [call]},
            )
        data = {
            "id": "cmpl-fake",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "system_fingerprint": self.name,
            "choices": [choice],
        }
        if "no-usage" not in how:
            data["usage"] = usage(body, parts)
        return data

    def events(self, body: dict, parts: list[str], how: dict, chat: bool) -> list[bytes]:
        base = {
            "id": "cmpl-fake",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "system_fingerprint": self.name,
        }
        chunks = []
        if chat:
            chunks.append(
                {
                    **base,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None,
                        }
                    ],
                }
            )
        calls = chat and "tool" in how
        for i, piece in enumerate(parts):
            if calls:  # the arguments arrive in pieces, as real servers send them
                call = {"index": 0, "function": {"arguments": piece}}
                if i == 0:
                    call.update(id="call_fake", type="function")
                    call["function"]["name"] = tool_name(body)
                choice = {"index": 0, "delta": {"tool_calls": [call]}}
            elif chat:
                choice = {"index": 0, "delta": {"content": piece}}
            else:
                choice = {"index": 0, "text": piece}
            chunks.append({**base, "choices": [{**choice, "finish_reason": None}]})
        last = {"index": 0, "delta": {}} if chat else {"index": 0, "text": ""}
        finish = "tool_calls" if calls else "stop"
        chunks.append({**base, "choices": [{**last, "finish_reason": finish}]})
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if wants_usage and "no-usage" not in how:
            chunks.append({**base, "choices": [], "usage": usage(body, parts)})
        sep = b"\r\n\r\n" if "crlf" in how else b"\n\n"
        out = [b"data: " + orjson.dumps(c) + sep for c in chunks]
        if "malformed" in how:
            out.insert(1, b"data: {not json" + sep)
        if "no-done" not in how:
            out.append(b"data: [DONE]" + sep)
        return out

    def abandon(self, body: dict) -> None:
        self.stats["streams_abandoned"] += 1
        self.abandoned.append({"prompt": prompt_text(body)[:200], "at": time.time()})

    async def stream(self, send, body, parts, how, chat: bool, gone: asyncio.Event) -> None:
        events = self.events(body, parts, how, chat)
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
