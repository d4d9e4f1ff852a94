"""The fake upstream's audio endpoints: transcriptions and translations (multipart uploads)
and speech (a binary reply, sent in pieces).

A transcription's text tells what arrived: the model, the file's name, its size and the
start of its sha256, so a test can check that an upload crossed the gateway intact.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

import orjson

from routing.fake_upstream.behaviour import parse_behaviour
from routing.fake_upstream.wire import answer, answer_json, error, read_body

DISPOSITION = re.compile(rb'name="([^"]*)"(?:; filename="([^"]*)")?')
SPEECH_PIECE = 4096


def form_parts(body: bytes, content_type: str) -> dict[str, tuple[bytes | None, bytes]]:
    """name -> (filename or None, value) of a multipart form."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not found:
        raise ValueError("not a multipart form")
    delimiter = b"--" + found.group(1).encode()
    parts = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, value = chunk.partition(b"\r\n\r\n")
        named = DISPOSITION.search(head)
        if named:
            parts[named.group(1).decode()] = (named.group(2), value[:-2])  # less its CRLF
    return parts


async def transcription(scope: dict, receive, send) -> None:
    headers = dict(scope["headers"])
    body = await read_body(receive)
    try:
        parts = form_parts(body, headers.get(b"content-type", b"").decode())
    except ValueError:
        return await error(send, 400, "expected multipart/form-data")
    model = parts.get("model", (None, b""))[1].decode()
    if "status" in (how := parse_behaviour(model)):
        return await error(send, int(how["status"]), f"fake error {how['status']}")
    if "file" not in parts:
        return await error(send, 400, "file is required")
    name, data = parts["file"]
    text = (
        f"{model} heard {len(data)} bytes of {(name or b'').decode()} "
        f"sha256:{hashlib.sha256(data).hexdigest()[:16]}"
    )
    if parts.get("response_format", (None, b""))[1] == b"text":
        return await answer(send, 200, text.encode(), b"text/plain; charset=utf-8")
    await answer_json(send, 200, {"text": text})


def speech_bytes(text: str, size: int) -> bytes:
    """Deterministic 'audio' of `size` bytes for a text."""
    seed = hashlib.sha256(text.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def speech(scope: dict, receive, send) -> None:
    """Binary audio, 1000 bytes per input character, sent in 4 KB pieces with pauses."""
    body = orjson.loads(await read_body(receive))
    text = str(body.get("input", ""))
    if "status" in (how := parse_behaviour(str(body.get("model", "")))):
        return await error(send, int(how["status"]), f"fake error {how['status']}")
    audio = speech_bytes(text, 1000 * len(text))
    kind = {"wav": b"audio/wav", "opus": b"audio/opus"}.get(body.get("response_format"))
    headers = [(b"content-type", kind or b"audio/mpeg")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for offset in range(0, len(audio), SPEECH_PIECE):
        piece = audio[offset : offset + SPEECH_PIECE]
        await send({"type": "http.response.body", "body": piece, "more_body": True})
        await asyncio.sleep(0.001)
    await send({"type": "http.response.body", "body": b""})
