"""Run the scripted fake model server (its behaviours: routing/fake_upstream/behaviour.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from routing import fake_upstream


class Command(BaseCommand):
    help = "Run a scripted OpenAI-style model server for trying the gateway and for tests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9100)
        parser.add_argument(
            "--models",
            default=",".join(fake_upstream.DEFAULT_MODELS),
            help="comma-separated names listed by /v1/models",
        )
        parser.add_argument("--name", default="fake", help="reported as system_fingerprint")

    def handle(self, *args: object, **options: object) -> None:
        models = [m.strip() for m in options["models"].split(",") if m.strip()]
        self.stdout.write(f"Fake upstream on http://{options['host']}:{options['port']}")
        fake_upstream.run(options["host"], options["port"], models, options["name"])
