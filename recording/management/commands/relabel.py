"""Ask another model for each captured prompt of a workflow; keep its answers as alternatives."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recording.export import SAFE_NAME
from recording.progress import ProgressBar
from recording.relabel import relabel


def positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise CommandError(f"not a positive whole number: {value!r}")
    return int(value)


class Command(BaseCommand):
    help = (
        "Send a workflow's captured prompts (without their final reply) through the "
        "gateway's routing to --model and store the answers as alternative replies. "
        "Conversations that already have an answer from that model are skipped, so an "
        "interrupted run continues where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", required=True)
        parser.add_argument("--model", required=True, help="the model name, as a client asks")
        parser.add_argument("--limit", type=positive, help="ask at most this many")
        parser.add_argument(
            "--concurrency", type=positive, default=4, help="requests at a time [4]"
        )

    def handle(self, *args: object, **options: object) -> None:
        if not SAFE_NAME.fullmatch(options["workflow"]):
            raise CommandError("--workflow: 1 to 64 letters, digits, '-' or '_'")
        bars: list[ProgressBar] = []

        def progress_for(total: int) -> ProgressBar:
            bars.append(ProgressBar(total))
            return bars[0]

        summary = relabel(
            options["workflow"],
            options["model"],
            options["limit"],
            options["concurrency"],
            progress_for,
        )
        for bar in bars:
            bar.clear()
        for error in summary.errors:
            self.stderr.write(f"failed: {error}")
        self.stdout.write(summary.line())
