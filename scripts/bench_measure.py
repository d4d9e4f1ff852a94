"""Measurements for the benchmark: wrk loads, streaming timings, a process tree's CPU and memory."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

BODY = {"model": "echo", "messages": [{"role": "user", "content": "Hello there, how are you?"}]}
# The same question through the Responses API: (path, body, what its first word looks like)
APIS = {
    "chat": ("/v1/chat/completions", BODY, b'"content":"w'),
    "responses": (
        "/v1/responses",
        {"model": "echo", "input": "Hello there, how are you?"},
        b'"delta":"w',
    ),
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


def wrk_script(directory: Path, api: str = "chat") -> Path:
    path = directory / f"post-{api}.lua"
    body = json.dumps(APIS[api][1]).replace("'", "\\'")
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{body}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> Load:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses from {url}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(rps, to_ms(percentiles["50"]), to_ms(percentiles["99"]), requests)


def process_tree(pid: int) -> list[int]:
    """The gateway and its worker processes, if any."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(int(child) for child in found.split())]


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for each in process_tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of the gateway, its workers summed."""
    total = 0
    for each in process_tree(pid):
        status = Path(f"/proc/{each}/status").read_text()
        total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return total / 1024


def timed_streams(
    url: str, model: str, rounds: int, api: str = "chat"
) -> list[tuple[float, float, bytes]]:
    """Send `rounds` streaming requests one after the other on a raw keep-alive socket
    (each in one write, so the figures are the servers' time, not a client library's);
    for each: (seconds to the first content event, seconds from it to the end, the bytes)."""
    path, body, marker = APIS[api]
    body = json.dumps({**body, "model": model, "stream": True}).encode()
    parts = urlsplit(url)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    samples = []
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            start = time.perf_counter()
            sock.sendall(request)
            buffer = b""
            while marker not in buffer:
                buffer += sock.recv(65536)
            first = time.perf_counter()
            while not buffer.endswith(b"0\r\n\r\n"):  # the end of the chunked body
                buffer += sock.recv(65536)
            samples.append((first - start, time.perf_counter() - first, buffer))
    return samples


def ttfb_ms(url: str, rounds: int, api: str = "chat") -> float:
    """Median time from sending a streaming request to its first content event."""
    samples = timed_streams(url, "echo+words:20", rounds, api)
    return statistics.median(ttfb for ttfb, _, _ in samples) * 1000


def relay_tokens_per_s(url: str, words: int = 4000, rounds: int = 5, api: str = "chat") -> float:
    """Median rate at which the words of a long, fast stream reach the client once its
    first one has (the fake upstream sends one word, about a token, per event)."""
    samples = timed_streams(url, f"echo+words:{words}", rounds, api)
    return statistics.median(
        len(re.findall(rb"\bw\d+\b", data)) / rest for _, rest, data in samples
    )
