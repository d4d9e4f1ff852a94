"""Export captured conversations as ChatML JSONL, one file per workflow."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recording.export import SAFE_NAME, ExportFilter, export_chatml


def parse_date(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date: {value!r} (use YYYY-MM-DD or ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Write DIR/<workflow>/conversations.jsonl with the captured conversations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", default="")
        parser.add_argument("--since", type=parse_date)
        parser.add_argument("--until", type=parse_date)
        parser.add_argument("--model", default="")
        parser.add_argument("--key", default="", help="only requests made with this gateway key")
        parser.add_argument("--out", default="data", help="output directory [data]")
        parser.add_argument(
            "--dedupe",
            action="store_true",
            help="skip conversations identical to one already written",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["workflow"] and not SAFE_NAME.fullmatch(options["workflow"]):
            raise CommandError("--workflow: 1 to 64 letters, digits, '-' or '_'")
        filters = ExportFilter(
            options["workflow"],
            options["since"],
            options["until"],
            options["model"],
            options["key"],
        )
        total = filters.queryset().count()
        tty = sys.stderr.isatty()

        def progress(done: int) -> None:
            if tty:
                width = 30
                filled = int(width * done / max(total, 1))
                bar = "#" * filled + "-" * (width - filled)
                sys.stderr.write(f"\r[{bar}] {done}/{total}")
                sys.stderr.flush()

        summary = export_chatml(Path(options["out"]), filters, options["dedupe"], progress)
        if tty:
            sys.stderr.write("\r" + " " * 60 + "\r")
        self.stdout.write(f"Exported {summary.line()} to {options['out']}")
