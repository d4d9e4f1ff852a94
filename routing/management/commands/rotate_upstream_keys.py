"""Encrypt the stored upstream API keys again under the current SECRET_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from routing.models import Upstream


class Command(BaseCommand):
    help = (
        "After changing SECRET_KEY (the old one in SECRET_KEY_FALLBACKS): encrypt every "
        "stored upstream API key under the new one, so the fallback can be dropped."
    )

    def handle(self, *args: object, **options: object) -> None:
        done, unreadable = Upstream.reseal_keys()
        self.stdout.write(f"Re-encrypted {done} upstream key(s) under the current SECRET_KEY.")
        if unreadable:
            raise CommandError(
                f"{unreadable} key(s) could not be decrypted with SECRET_KEY or "
                "SECRET_KEY_FALLBACKS: enter them again in the admin."
            )
