"""Load a routes file (YAML or JSON) into the database; importing it again changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from routing.config.loader import read_config_file
from routing.config.routes_export import import_config
from routing.rules.routes_file import ConfigFileError


class Command(BaseCommand):
    help = "Import upstreams, routes and a model map from a routes file (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: object, **options: object) -> None:
        try:
            config = read_config_file(options["file"])
            changed = import_config(config)
        except ConfigFileError as exc:
            for problem in exc.problems:
                sys.stderr.write(f"{problem}\n")
            sys.exit(1)
        summary = (
            f"{len(config.routes)} routes, {len(config.upstreams)} upstreams, "
            f"{len(config.model_map)} mappings"
        )
        self.stdout.write(f"Imported {summary}" if changed else f"Unchanged: {summary}")
