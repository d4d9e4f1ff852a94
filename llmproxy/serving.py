"""Runs the ASGI application on one or more listening sockets, with uvicorn or daphne."""

from __future__ import annotations

import logging
import logging.config
import os
import socket
import sys
from dataclasses import dataclass

from django.conf import settings

from llmproxy.console import WORKER_SIGNALS, attached_to_terminal, start_console

SERVERS = ("uvicorn", "daphne")
DEFAULT_SERVER = "uvicorn"
APP = "llmproxy.asgi:application"


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    role: str = "main"  # later: a workflow's port, or the Ollama port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def banner(found: list[Listener]) -> str:
    main = found[0]
    lines = [
        f"Gateway on {main.url}  (OpenAI API at {main.url}/v1)",
        f"Default upstream: {settings.DEFAULT_UPSTREAM}",
    ]
    lines += [f"  also {listener.url} ({listener.role})" for listener in found[1:]]
    return "\n".join(lines)


def configure_traffic_log(verbose: bool) -> None:
    """Switch the per-request lines on or off, in a way later logging setups keep."""
    settings.LOGGING["loggers"]["llmproxy.traffic"]["level"] = "INFO" if verbose else "WARNING"
    logging.config.dictConfig(settings.LOGGING)


def bind(listener: Listener) -> socket.socket:
    family = socket.AF_INET6 if ":" in listener.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it small writes wait for delayed ACKs (40 ms per whole reply).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listener.host, listener.port))
    except OSError as exc:
        sock.close()
        sys.stderr.write(f"cannot listen on {listener.url}: {exc.strerror}\n")
        sys.exit(1)
    sock.set_inheritable(True)
    return sock


def check_workers(server: str, workers: int) -> str | None:
    """Why `workers` cannot run, or None."""
    if workers <= 1:
        return None
    if server != "uvicorn":
        return "--workers needs the uvicorn server"
    if not settings.REDIS_URL:
        return (
            "--workers above 1 needs REDIS_URL: without it each worker would keep its own "
            "rate limits and live updates"
        )
    return None


def serve(server: str, found: list[Listener], workers: int = 1, console: bool = False) -> None:
    """Serve until stopped; with `console`, read the operator's commands when attached to
    a terminal (see llmproxy.console)."""
    if server == "daphne":
        serve_daphne(found, console)
    else:
        serve_uvicorn(found, workers, console)


def serve_uvicorn(found: list[Listener], workers: int = 1, console: bool = False) -> None:
    """One process, or `workers` processes sharing the listening sockets."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        APP,
        # uvloop served ~5% more requests/s but starved some connections for 0.5 s at
        # c=64 (p99 10x the p50); the standard loop keeps p99 near the p50.
        loop="asyncio",
        lifespan="on",
        proxy_headers=False,  # the peer address is the client; see TRUSTED_PROXIES
        server_header=False,
        access_log=False,
        log_level="warning",
        http="llmproxy.protocol:GuardedProtocol",  # header size and time, connection cap
        timeout_keep_alive=settings.KEEPALIVE_TIMEOUT,
        # On SIGTERM: stop accepting, let requests in flight finish for this long.
        timeout_graceful_shutdown=settings.SHUTDOWN_GRACE,
        workers=workers,
    )
    sockets = [bind(listener) for listener in found]
    if workers > 1:
        from analytics.metrics import use_multiprocess_dir

        # Before the workers start: each adds its figures there; a scrape sums them.
        use_multiprocess_dir(settings.DATA_DIR / "metrics" / str(found[0].port))
        supervisor = Multiprocess(config, sockets=sockets)
        if console and attached_to_terminal():
            os.environ[WORKER_SIGNALS] = "1"  # before the workers start: they inherit it
            start_console(
                supervisor.should_exit.set,  # what SIGTERM sets: workers end gracefully
                lambda: [p.pid for p in supervisor.processes if p.pid],
            )
        supervisor.run()
    else:
        server = uvicorn.Server(config)
        if console:
            # What SIGTERM sets, without the signal itself: the exit status stays 0.
            start_console(lambda: setattr(server, "should_exit", True))
        server.run(sockets=sockets)


def limit_daphne() -> None:
    """What daphne (Twisted) can keep of the server's limits: a connection silent for
    HEADER_TIMEOUT seconds is closed (Twisted's idle timeout, which also covers a stalled
    body, with no 408), and headers over twice MAX_HEADER_BYTES are cut with a 400 (the
    application answers 431 from MAX_HEADER_BYTES). It has no overall header deadline and
    no connection cap; uvicorn has both."""
    from daphne import http_protocol, server
    from twisted.web import http

    http.HTTPChannel.totalHeadersSize = 2 * settings.MAX_HEADER_BYTES
    http.HTTPChannel.MAX_LENGTH = 2 * settings.MAX_HEADER_BYTES  # one line

    class LimitedFactory(http_protocol.HTTPFactory):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.timeOut = settings.HEADER_TIMEOUT

    server.HTTPFactory = LimitedFactory


def serve_daphne(found: list[Listener], console: bool = False) -> None:
    from daphne.cli import CommandLineInterface

    limit_daphne()
    if console:
        start_console()

    endpoints = []
    for listener in found:
        host = listener.host.replace(":", r"\:")
        endpoints += ["-e", f"tcp:port={listener.port}:interface={host}"]
    CommandLineInterface().run([*endpoints, "--verbosity", "0", APP])
