"""Apply a workflow's automatic rules (and mark duplicates) to its captured conversations."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recording.dedupe import DEFAULT_THRESHOLD
from recording.export import SAFE_NAME
from recording.management.commands.export_chatml import similarity
from recording.review import curate


class Command(BaseCommand):
    help = (
        "Reject the conversations nobody reviewed yet whose reply breaks one of the "
        "workflow's rules (cut off, empty, refusal or error patterns, too short or too "
        "long), noting which rule fired; with --dedupe, also mark repeated prompts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", required=True)
        parser.add_argument(
            "--dedupe", action="store_true", help="mark duplicate prompts (the first is kept)"
        )
        parser.add_argument(
            "--similarity",
            type=similarity,
            default=DEFAULT_THRESHOLD,
            help=f"near-duplicate threshold, 1 for exact only [{DEFAULT_THRESHOLD}]",
        )

    def handle(self, *args: object, **options: object) -> None:
        if not SAFE_NAME.fullmatch(options["workflow"]):
            raise CommandError("--workflow: 1 to 64 letters, digits, '-' or '_'")
        summary = curate(options["workflow"], options["dedupe"], options["similarity"])
        for rule, n in sorted(summary.rejected.items()):
            self.stderr.write(f"{n} rejected: {rule}", style_func=str)
        self.stdout.write(f"{options['workflow']}: {summary.line()}")
