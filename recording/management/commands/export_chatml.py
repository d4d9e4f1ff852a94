"""Export captured conversations as training files, one folder per workflow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recording.dedupe import DEFAULT_THRESHOLD
from recording.export import (
    SAFE_NAME,
    ExportFilter,
    ExportOptions,
    export_conversations,
)
from recording.formats import CHOICES, FORMATS
from recording.progress import ProgressBar


def parse_date(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date: {value!r} (use YYYY-MM-DD or ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def share(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1:
        raise CommandError(f"not a share between 0 and 1: {value!r}")
    return number


def similarity(value: str) -> float:
    return 1.0 if value.strip() == "1" else share(value)


class Command(BaseCommand):
    help = (
        "Write DIR/<workflow>/conversations.jsonl (or train.jsonl and validation.jsonl) "
        "with the captured conversations; rejected ones are left out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", default="")
        parser.add_argument("--since", type=parse_date)
        parser.add_argument("--until", type=parse_date)
        parser.add_argument("--model", default="")
        parser.add_argument("--key", default="", help="only requests made with this gateway key")
        parser.add_argument("--out", default="data", help="output directory [data]")
        parser.add_argument("--format", choices=FORMATS, default="chatml")
        parser.add_argument(
            "--approved-only", action="store_true", help="only conversations a reviewer approved"
        )
        parser.add_argument(
            "--choose",
            choices=CHOICES,
            default="reviewed",
            help="which reply: the reviewer's pick [reviewed], the original, the edited one, "
            "or the relabelled one; the original when the one asked for is missing",
        )
        parser.add_argument(
            "--dedupe",
            action="store_true",
            help="skip conversations whose prompt repeats or nearly repeats an earlier one",
        )
        parser.add_argument(
            "--similarity",
            type=similarity,
            default=DEFAULT_THRESHOLD,
            help=f"near-duplicate threshold for --dedupe, 1 for exact only [{DEFAULT_THRESHOLD}]",
        )
        parser.add_argument(
            "--scrub", action="store_true", help="hide e-mail addresses, phone numbers and keys"
        )
        parser.add_argument(
            "--split", type=share, help="write train.jsonl with this share, validation.jsonl"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of --split [0]")

    def handle(self, *args: object, **options: object) -> None:
        if options["workflow"] and not SAFE_NAME.fullmatch(options["workflow"]):
            raise CommandError("--workflow: 1 to 64 letters, digits, '-' or '_'")
        filters = ExportFilter(
            options["workflow"],
            options["since"],
            options["until"],
            options["model"],
            options["key"],
            options["approved_only"],
        )
        export = ExportOptions(
            format=options["format"],
            choose=options["choose"],
            dedupe=options["dedupe"],
            similarity=options["similarity"],
            scrub=options["scrub"],
            split=options["split"],
            seed=options["seed"],
        )
        bar = ProgressBar(filters.queryset().count())
        summary = export_conversations(Path(options["out"]), filters, export, bar)
        bar.clear()
        for line in summary.file_lines():
            self.stderr.write(line, style_func=str)
        self.stdout.write(f"Exported {summary.line()} to {options['out']}")
