"""An Ollama-shaped fake for model management: /api/pull, /api/push and /api/create stream
NDJSON progress (or answer once with `stream: false`), /api/copy and /api/delete change
the model list that /api/tags shows. A model named `missing…` cannot be pulled."""

from __future__ import annotations

import asyncio

import orjson

from routing.fake_upstream.wire import answer, answer_json, read_body

MODELS: set[str] = set()  # the models this fake process "has"
TOTAL = 3_000_000


def progress(action: str, name: str) -> list[dict]:
    digest = "sha256:" + name.encode().hex().ljust(64, "0")[:64]
    steps = [{"status": f"{action} manifest"}]
    steps += [
        {"status": f"{action} {digest[7:19]}", "digest": digest, "total": TOTAL, "completed": done}
        for done in (0, TOTAL // 2, TOTAL)
    ]
    return [*steps, {"status": "verifying sha256 digest"}, {"status": "success"}]


async def stream_lines(send, lines: list[dict]) -> None:
    headers = [(b"content-type", b"application/x-ndjson")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for line in lines:
        body = orjson.dumps(line) + b"\n"
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await asyncio.sleep(0.01)
    await send({"type": "http.response.body", "body": b""})


def model_name(body: dict) -> str:
    return str(body.get("model") or body.get("name") or "")


async def management(scope: dict, receive, send) -> None:
    action = scope["path"].rsplit("/", 1)[1]
    body = orjson.loads(await read_body(receive) or b"{}")
    name = model_name(body)
    if action == "copy":
        source = body.get("source")
        if source not in MODELS:
            return await answer_json(send, 404, {"error": f"model '{source}' not found"})
        MODELS.add(str(body.get("destination")))
        return await answer(send, 200, b"", b"application/json")
    if action == "delete":
        if name not in MODELS:
            return await answer_json(send, 404, {"error": f"model '{name}' not found"})
        MODELS.discard(name)
        return await answer(send, 200, b"", b"application/json")
    if name.startswith("missing"):
        return await answer_json(send, 500, {"error": "pull model manifest: file does not exist"})
    MODELS.add(name)
    verb = {"pull": "pulling", "push": "pushing", "create": "creating"}[action]
    lines = progress(verb, name)
    if body.get("stream") is False:
        return await answer_json(send, 200, lines[-1])
    await stream_lines(send, lines)


async def tags(scope: dict, receive, send) -> None:
    models = [
        {
            "name": m,
            "model": m,
            "modified_at": "2026-01-01T00:00:00Z",
            "size": TOTAL,
            "digest": m.encode().hex().ljust(64, "0")[:64],
            "details": {},
        }
        for m in sorted(MODELS)
    ]
    await answer_json(send, 200, {"models": models})
