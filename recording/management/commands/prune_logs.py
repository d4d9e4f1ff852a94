"""Delete request logs older than MAX_LOG_AGE_DAYS (or --days), in small batches."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from recording.maintenance import prune_logs


class Command(BaseCommand):
    help = "Delete old request logs and their bodies (captured conversations are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=float, default=None, help="age limit in days [MAX_LOG_AGE_DAYS]"
        )

    def handle(self, *args: object, **options: object) -> None:
        days = options["days"] if options["days"] is not None else settings.MAX_LOG_AGE_DAYS
        deleted = prune_logs(days)
        self.stdout.write(f"Deleted {deleted} request logs older than {days:g} days")
