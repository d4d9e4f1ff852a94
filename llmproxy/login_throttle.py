"""Failed admin logins lock out: LOGIN_MAX_FAILURES per account and four times that per
address within LOGIN_LOCKOUT_SECONDS, counted in Django's cache (Redis with REDIS_URL, so
every worker and node counts together). While locked, even the right password is refused.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from routing.guard.access import client_ip

ADDRESS_FACTOR = 4  # an address may try several accounts (people share offices and NATs)


def counters(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    """(cache key, limit) of the account and of the address."""
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    found = [(f"login-failures:account:{account}", settings.LOGIN_MAX_FAILURES)]
    if request is not None:
        address = client_ip(request)
        limit = settings.LOGIN_MAX_FAILURES * ADDRESS_FACTOR
        found.append((f"login-failures:address:{address}", limit))
    return found


def locked(request: HttpRequest | None, username: str) -> bool:
    counts = cache.get_many([key for key, _ in counters(request, username)])
    return any(counts.get(key, 0) >= limit for key, limit in counters(request, username))


def count_failure(request: HttpRequest | None, username: str) -> None:
    for key, _ in counters(request, username):
        cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)  # the window starts at the first
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)


def forget_failures(username: str) -> None:
    """A good login clears the account's count (not the address's)."""
    cache.delete(counters(None, username)[0][0])


class ThrottledLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        if locked(self.request, username):
            minutes = max(round(settings.LOGIN_LOCKOUT_SECONDS / 60), 1)
            raise ValidationError(
                f"Too many failed logins: try again in up to {minutes} minutes.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            count_failure(self.request, username)
            raise
        forget_failures(username)
        return cleaned
