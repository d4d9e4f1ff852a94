"""Limits of the server itself, seen on raw sockets: header size, header and body time,
idle keep-alive, page bodies, and the cap on open connections; under uvicorn (the default)
and what daphne keeps of them."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.e2e.procs import start_gateway

pytestmark = pytest.mark.e2e

HEADER_LIMIT = 16384
BODY = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "hi"}]}).encode()


@pytest.fixture(scope="module")
def limited(e2e_dir, fake):
    proc, url = start_gateway(
        e2e_dir,
        fake,
        MAX_HEADER_BYTES=str(HEADER_LIMIT),
        HEADER_TIMEOUT="1",
        BODY_TIMEOUT="1",
        KEEPALIVE_TIMEOUT="1",
    )
    yield url
    proc.stop()


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def request(path: str, headers: dict[str, str], body: bytes = BODY) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    return data


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def is_closed(sock: socket.socket, timeout: float) -> bool:
    """Has the server closed (or reset) this connection within `timeout` seconds?"""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize(
    ("path", "shape"), [("/v1/chat/completions", "openai"), ("/api/chat", "ollama")]
)
def test_headers_over_the_limit_get_a_431_in_the_apis_shape(limited, path, shape):
    with connect(limited) as sock:
        sock.sendall(request(path, {"X-Padding": "p" * (HEADER_LIMIT + 10)}))
        status, body = status_and_json(read_all(sock))
    assert status == 431
    if shape == "ollama":
        assert set(body) == {"error"} and "header" in body["error"]
    else:
        assert body["error"]["code"] == "headers_too_large"


def test_a_huge_header_is_cut_off_without_reading_it_all(limited):
    with connect(limited) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        sent = 0
        try:
            while sent < 64 * 2**20:
                sock.sendall(b"f" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 16 * 2**20  # the server stopped taking it long before 64 MB


def test_headers_under_the_limit_are_served(limited):
    response = httpx.post(
        f"{limited}/v1/chat/completions",
        content=BODY,
        headers={"X-Padding": "p" * (HEADER_LIMIT // 2)},
    )
    assert response.status_code == 200


def test_idle_connections_and_unfinished_headers_are_closed(limited):
    idle = connect(limited)
    partial = connect(limited)
    partial.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    started = time.monotonic()
    assert is_closed(idle, 10) and is_closed(partial, 10)
    assert time.monotonic() - started < 8
    idle.close()
    partial.close()


def test_unfinished_headers_get_a_408_when_the_request_was_begun(limited):
    with connect(limited) as sock:
        sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status, body = status_and_json(read_all(sock))
    assert status == 408 and set(body) == {"error"}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/admin/login/"])
def test_a_body_that_stops_flowing_is_answered_408_and_closed(limited, path):
    with connect(limited) as sock:
        whole = request(path, {"Content-Type": "application/json"}, b"x" * 5000)
        sock.sendall(whole[: whole.index(b"\r\n\r\n") + 4] + b'{"mo')  # then nothing
        answer = read_all(sock)
    assert answer.split(b" ", 2)[1] == b"408"


def test_an_idle_keep_alive_connection_is_closed(limited):
    with connect(limited) as sock:
        sock.sendall(request("/v1/chat/completions", {}))
        sock.settimeout(10)
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200")
        assert is_closed(sock, 10)


def test_page_bodies_are_bounded_before_django_reads_them(limited):
    with connect(limited) as sock:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        whole = request("/admin/login/", form, b"")
        head = whole.replace(b"Content-Length: 0", f"Content-Length: {300 * 2**20}".encode())
        sock.sendall(head + b"username=a&password=" + b"x" * 65536)
        answer = read_all(sock)
    assert answer.split(b" ", 2)[1] == b"413"
    chunked = httpx.post(
        f"{limited}/admin/login/",
        content=iter([b"x" * 2**20] * 4),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status_code == 413


def test_api_bodies_between_django_and_gateway_limits_are_served(limited):
    """3 MiB: over Django's DATA_UPLOAD_MAX_MEMORY_SIZE, under MAX_REQUEST_BYTES."""
    body = {"model": "echo", "messages": [{"role": "user", "content": "x" * 3 * 2**20}]}
    response = httpx.post(f"{limited}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text[:300]


def test_past_the_connection_cap_a_request_gets_a_503_in_its_apis_shape(e2e_dir, fake):
    proc, url = start_gateway(e2e_dir, fake, MAX_CONNECTIONS="8", HEADER_TIMEOUT="30")
    held = []
    try:
        held = [connect(url) for _ in range(8)]
        time.sleep(0.5)  # accepted by the server
        with connect(url) as sock:
            sock.sendall(request("/v1/chat/completions", {}))
            status, body = status_and_json(read_all(sock))
        assert status == 503 and body["error"]["code"] == "too_many_connections"
        with connect(url) as sock:
            sock.sendall(request("/api/chat", {}))
            status, body = status_and_json(read_all(sock))
        assert status == 503 and set(body) == {"error"}
        for sock in held:
            sock.close()
        held = []
        time.sleep(0.5)
        assert httpx.post(f"{url}/v1/chat/completions", content=BODY).status_code == 200
    finally:
        for sock in held:
            sock.close()
        proc.stop()


def test_daphne_keeps_the_header_limit_and_closes_silent_connections(e2e_dir, fake):
    proc, url = start_gateway(
        e2e_dir, fake, "--server", "daphne", MAX_HEADER_BYTES="8192", HEADER_TIMEOUT="1"
    )
    try:
        with connect(url) as idle:
            assert is_closed(idle, 10)
        with connect(url) as sock:
            sock.sendall(request("/v1/chat/completions", {"X-Padding": "p" * 10000}))
            status, body = status_and_json(read_all(sock))
        assert status == 431 and body["error"]["code"] == "headers_too_large"
        with connect(url) as sock:
            sock.sendall(request("/v1/chat/completions", {"X-Padding": "p" * 100_000}))
            answer = read_all(sock)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")  # Twisted cuts it off
        ok = httpx.post(f"{url}/v1/chat/completions", content=BODY)
        assert ok.status_code == 200
    finally:
        proc.stop()
