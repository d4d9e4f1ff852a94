"""An upstream that misbehaves below HTTP: it resets, truncates, stalls and talks garbage.

The scripted fake (routing/fake_upstream/) speaks proper HTTP through uvicorn; these
faults need the raw socket, so this one is a bare asyncio server on a thread of the test
process. The model name picks the fault; whole and streamed requests both get it:

    rude-reset        reset the connection (RST) as soon as the request is read
    rude-reset-after  send the headers and part of the body, then reset
    rude-die          send the headers and part of the body, then close (FIN)
    rude-stall        send the headers and part of the body, then go silent
    rude-bad-json     a complete 200 answer whose JSON (or first SSE event) is broken
    rude-garbage      answer bytes that are not HTTP at all
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading

EVENT = b'data: {"id":"r","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi "},"finish_reason":null}]}\n\n'  # noqa: E501
WHOLE = b'{"id":"r","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}'  # noqa: E501


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def head(stream: bool, length: int = 0) -> bytes:
    if stream:
        kind = b"content-type: text/event-stream\r\ntransfer-encoding: chunked"
    else:
        kind = b"content-type: application/json\r\ncontent-length: %d" % length
    return b"HTTP/1.1 200 OK\r\n" + kind + b"\r\n\r\n"


def partial(stream: bool) -> bytes:
    """Headers and a part of the body: two events, or half the JSON."""
    if stream:
        return head(True) + chunked(EVENT) + chunked(EVENT)
    return head(False, len(WHOLE)) + WHOLE[: len(WHOLE) // 2]


def broken(stream: bool) -> bytes:
    if stream:
        return head(True) + chunked(b'data: {"choices": [\n\n') + b"0\r\n\r\n"
    body = b'{"id": "r", "choices": ['
    return head(False, len(body)) + body


async def read_request(reader: asyncio.StreamReader) -> dict:
    header = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return json.loads(await reader.readexactly(length)) if length else {}


def reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        body = await read_request(reader)
    except (asyncio.IncompleteReadError, ValueError):
        writer.close()
        return
    fault, stream = str(body.get("model", "")), bool(body.get("stream"))
    with contextlib.suppress(ConnectionError):
        if fault == "rude-reset":
            return reset(writer)
        if fault == "rude-garbage":
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe not http at all\r\n\r\n")
        elif fault == "rude-bad-json":
            writer.write(broken(stream))
        else:
            writer.write(partial(stream))
        await writer.drain()
        if fault == "rude-reset-after":
            await asyncio.sleep(0.05)  # let the part arrive first
            return reset(writer)
        if fault == "rude-stall":
            await reader.read()  # until the gateway gives up
        writer.close()


class RudeUpstream:
    """Runs `serve` on its own event loop thread; `url` is where it listens."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = ""

    def start(self) -> str:
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(serve, "127.0.0.1", 0), self.loop
        ).result(5)
        self.server = server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self.url

    def stop(self) -> None:
        self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
