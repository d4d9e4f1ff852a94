"""Print the routing configuration (upstreams, routes, model map) as a routes file."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from routing.config.routes_export import dump, export_config


class Command(BaseCommand):
    help = "Write upstreams, routes and the model map to stdout as YAML or JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
        parser.add_argument("--with-secrets", action="store_true", help="include upstream API keys")

    def handle(self, *args: object, **options: object) -> None:
        config, warnings = export_config(options["with_secrets"])
        self.stdout.write(dump(config, options["format"]), ending="")
        for warning in warnings:
            sys.stderr.write(f"note: {warning}\n")
