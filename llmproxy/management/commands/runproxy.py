"""Serve the gateway in the foreground."""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmproxy import serving, startup
from llmproxy.console import attached_to_terminal
from llmproxy.env import default_hosts
from routing.rules.routes_file import ConfigFileError, is_url

CONSOLE_HINT = "Type help for the console's commands (clear, verbose, exit)."


def upstream_from_parts(host: str, port: int | None) -> str:
    """--aihost/--aihostport as a URL: port 443 means https."""
    if is_url(host):
        return host
    scheme = "https" if port == 443 else "http"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


class Command(BaseCommand):
    help = "Run the gateway (OpenAI- and Ollama-compatible endpoints, dashboard, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", "--bindip", dest="host", help="address to listen on")
        parser.add_argument("--port", "--bindport", dest="port", type=int, help="port")
        parser.add_argument("--upstream", help="default upstream base URL")
        parser.add_argument("--aihost", help="default upstream host (with --aihostport)")
        parser.add_argument("--aihostport", type=int, help="default upstream port (443: https)")
        parser.add_argument("--verbose", action="store_true", help="one line per request")
        parser.add_argument(
            "--server",
            choices=serving.SERVERS,
            default=serving.DEFAULT_SERVER,
            help=f"ASGI server [default: {serving.DEFAULT_SERVER}]",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes sharing the ports [WORKERS, 1]",
        )

    def handle(self, *args: object, **options: object) -> None:
        host = options["host"] or settings.LISTEN_HOST
        port = options["port"] or settings.LISTEN_PORT
        upstream = options["upstream"] or (
            upstream_from_parts(options["aihost"], options["aihostport"])
            if options["aihost"]
            else None
        )
        if upstream:
            if not is_url(upstream):
                raise CommandError(f"--upstream: expected an http(s) URL, got {upstream!r}")
            os.environ["DEFAULT_UPSTREAM"] = settings.DEFAULT_UPSTREAM = upstream.rstrip("/")
        if options["host"] and "ALLOWED_HOSTS" not in os.environ:
            # The names the gateway answers to follow the address it listens on (workers
            # read it from the environment).
            settings.ALLOWED_HOSTS = default_hosts(host)
            os.environ["ALLOWED_HOSTS"] = ",".join(settings.ALLOWED_HOSTS)
        if options["verbose"]:
            os.environ["VERBOSE"] = "true"
            settings.VERBOSE = True
        serving.configure_traffic_log(settings.VERBOSE)
        workers = options["workers"] or settings.WORKERS
        if problem := serving.check_workers(options["server"], workers):
            raise CommandError(problem)
        startup.check_admin_password()
        try:
            listeners, lines = startup.prepare(host, port)
        except ConfigFileError as exc:
            for problem in exc.problems:
                sys.stderr.write(f"configuration error: {problem}\n")
            sys.exit(2)
        workers_line = [f"{workers} worker processes"] if workers > 1 else []
        console = [CONSOLE_HINT] if attached_to_terminal() else []
        for line in [*lines, serving.banner(listeners), *workers_line, *console]:
            self.stdout.write(line)
        serving.serve(options["server"], listeners, workers, console=bool(console))
