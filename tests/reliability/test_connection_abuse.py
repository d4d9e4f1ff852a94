"""Connection abuse: a few hundred slowloris sockets (idle, headers never finished, bodies
that stop) are closed within the server's bounds while a real client is still served; a
64 MB header is cut off early and leaves memory where it was."""

from __future__ import annotations

import selectors
import socket
import time

import httpx
import pytest

from tests.e2e.procs import start_gateway
from tests.reliability.helpers import rss_mb

pytestmark = pytest.mark.e2e

TIMEOUT = 2.0  # HEADER_TIMEOUT and BODY_TIMEOUT of the abused gateway
MARGIN = 8.0  # to notice the close on 2 busy cores
KINDS = ("idle", "unfinished headers", "stalled body")
COUNTS = [pytest.param(100, id="300"), pytest.param(400, id="1200", marks=pytest.mark.soak)]
BODY = b'{"model": "echo", "messages": [{"role": "user", "content": "hi"}]}'


@pytest.fixture(scope="module")
def abused(e2e_dir, fake):
    proc, url = start_gateway(e2e_dir, fake, HEADER_TIMEOUT=str(TIMEOUT), BODY_TIMEOUT=str(TIMEOUT))
    yield proc, url
    proc.stop()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def open_abusive(url: str, kind: str) -> socket.socket:
    sock = socket.create_connection(address(url), timeout=10)
    if kind == "unfinished headers":
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
    elif kind == "stalled body":
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9000\r\n"
        sock.sendall(head + b"Content-Type: application/json\r\n\r\n" + b'{"model": "ec')
    sock.setblocking(False)
    return sock


def seconds_until_closed(sockets: list[socket.socket], deadline: float) -> tuple[int, float]:
    """How many of `sockets` the server closed before `deadline`, and when the last went."""
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    closed, last = 0, 0.0
    while closed < len(sockets) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            try:
                data = key.fileobj.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:  # end of stream: the server closed it
                selector.unregister(key.fileobj)
                closed += 1
                last = time.monotonic() - started
    selector.close()
    return closed, last


@pytest.mark.parametrize("each", COUNTS)
def test_slowloris_sockets_are_closed_within_the_bound(abused, figure, each):
    _, url = abused
    sockets = [open_abusive(url, kind) for kind in KINDS for _ in range(each)]
    try:
        served = httpx.post(f"{url}/v1/chat/completions", content=BODY, timeout=10)
        closed, last = seconds_until_closed(sockets, time.monotonic() + TIMEOUT + MARGIN)
    finally:
        for sock in sockets:
            sock.close()
    after = httpx.post(f"{url}/v1/chat/completions", content=BODY, timeout=10)
    bound = TIMEOUT + MARGIN
    every = closed == len(sockets)
    results = [
        figure(
            "slowloris sockets closed", closed, f"of {len(sockets)}", "all", closed == len(sockets)
        ),
        figure("seconds until the last closed", last, "s", f"<= {bound:g}", every and last < bound),
        figure(
            "a client served meanwhile and after",
            served.status_code,
            f"({after.status_code})",
            "200",
            served.status_code == after.status_code == 200,
        ),
    ]
    assert all(results)


def test_a_64_mb_header_is_cut_off_and_memory_stays(abused, figure):
    proc, url = abused
    pid = proc.proc.pid
    httpx.post(f"{url}/v1/chat/completions", content=BODY, timeout=10)  # warm
    before = rss_mb(pid)
    sock = socket.create_connection(address(url), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
    taken = 0
    try:
        while taken < 64 * 2**20:
            sock.sendall(b"f" * 65536)
            taken += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.close()
    time.sleep(0.5)
    growth = rss_mb(pid) - before
    limit = httpx.post(
        f"{url}/v1/chat/completions", content=BODY, headers={"X-Padding": "p" * 70_000}
    )
    results = [
        figure(
            "64 MB header: MB taken before the cut", taken / 2**20, "MB", "< 16", taken < 16 * 2**20
        ),
        figure(
            "header over MAX_HEADER_BYTES (64 KB)",
            limit.status_code,
            "",
            "431",
            limit.status_code == 431,
        ),
        figure("RSS growth after the flood", growth, "MB", "< 30", growth < 30),
    ]
    assert all(results)
