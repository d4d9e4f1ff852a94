"""A client that reads slowly from a fast upstream: the gateway passes the pressure back to
the upstream instead of buffering the reply in memory."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.e2e.procs import start_fake, start_gateway
from tests.reliability.helpers import rss_mb

pytestmark = pytest.mark.e2e

# About 27 MB of events, sent as fast as they are taken: more than the kernel's socket
# buffers between the upstream, the gateway and the client hold (about 8-12 MB here).
REPLY, REPLY_MB = "words:3000000+chunk:4000", 25.8
READ, PAUSE = 4096, 0.01  # the client takes 4 KB every 10 ms: at most 400 KB/s


def open_slow_stream(url: str, model: str) -> socket.socket:
    """A raw socket with a small receive buffer, the request sent, nothing read yet."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect((host, int(port)))
    messages = [{"role": "user", "content": "x"}]
    body = json.dumps({"model": model, "stream": True, "messages": messages}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def warm_up(url: str) -> None:
    """A client leaving early loads the tokenizer (about 30 MB): do it before measuring."""
    body = {"model": "echo+words:50+delay:20", "stream": True, "messages": [{"role": "user"}]}
    body["messages"][0]["content"] = "x"
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        next(response.iter_lines())
    time.sleep(0.5)


@pytest.mark.parametrize(
    "seconds", [pytest.param(3, id="3s"), pytest.param(15, id="15s", marks=pytest.mark.soak)]
)
def test_a_slow_reader_back_pressures_the_upstream_and_memory_stays_flat(e2e_dir, figure, seconds):
    fake_proc, fake = start_fake(e2e_dir, f"slow-{seconds}")
    proc, url = start_gateway(e2e_dir, fake)
    pid = proc.proc.pid
    try:
        warm_up(url)
        before = httpx.get(f"{fake}/_fake/stats").json()
        rss_before = peak = rss_mb(pid)
        sock, read, started = (
            open_slow_stream(url, REPLY),
            0,
            time.monotonic(),
        )
        next_look = started
        while time.monotonic() - started < seconds:
            read += len(sock.recv(READ))
            time.sleep(PAUSE)
            if time.monotonic() >= next_look:
                peak, next_look = max(peak, rss_mb(pid)), next_look + 0.5
        after = httpx.get(f"{fake}/_fake/stats").json()
        sock.close()
    finally:
        proc.stop()
        fake_proc.stop()

    sent = after["bytes_streamed"] - before["bytes_streamed"]
    finished = after["streams_completed"] - before["streams_completed"]
    sent_mb, read_mb, growth = sent / 2**20, read / 2**20, peak - rss_before
    results = [
        figure(name, value, unit, threshold, ok)
        for name, value, unit, threshold, ok in [
            # it read on all the time: a refused or empty stream proves nothing
            ("client read", read_mb, "MB", "> 0.5", read_mb > 0.5),
            (
                "upstream sent (held in between)",
                sent_mb,
                f"MB ({sent_mb - read_mb:.1f})",
                f"< {REPLY_MB} (the whole reply)",
                sent_mb < REPLY_MB and not finished,
            ),
            ("peak RSS growth", growth, "MB", "< 30", growth < 30),
        ]
    ]
    assert all(results)
