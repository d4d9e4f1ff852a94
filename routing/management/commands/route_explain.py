"""Show which rule a request would follow, and why, without sending anything."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from routing.config.current import build_rules
from routing.rules.explain import explain


class Command(BaseCommand):
    help = "Explain the routing decision for a model name and a client address."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--source-ip", default="127.0.0.1", help="client address")

    def handle(self, *args: object, **options: object) -> None:
        result = explain(build_rules(), options["model"], options["source_ip"])
        for line in result.lines():
            self.stdout.write(line)
