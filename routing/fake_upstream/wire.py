"""Small ASGI helpers of the fake upstream's extra endpoints: read a body, answer."""

from __future__ import annotations

import orjson


async def read_body(receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def answer(send, status: int, body: bytes, content_type: bytes, extra: list | None = None):
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def answer_json(send, status: int, data: object) -> None:
    await answer(send, status, orjson.dumps(data), b"application/json")


async def error(send, status: int, message: str) -> None:
    """An error in OpenAI's shape."""
    body = {"error": {"message": message, "type": "fake_error", "param": None, "code": str(status)}}
    await answer_json(send, status, body)
