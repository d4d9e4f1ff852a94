"""Secrets the gateway must keep and use (upstream API keys), stored encrypted.

Fernet from `cryptography`: authenticated encryption (AES-128-CBC with HMAC-SHA256) in a
versioned token, and MultiFernet to read tokens made under earlier keys and to re-encrypt
them. The key is derived (HKDF-SHA256) from SECRET_KEY; SECRET_KEY_FALLBACKS, Django's own
list of earlier secret keys, are tried after it. A stored value is `fernet:<token>`;
anything without the prefix was stored in plain text before encryption and reads as is
(the migration that introduced this encrypted every such row).

Rotation: set the new SECRET_KEY, put the old one in SECRET_KEY_FALLBACKS, run
`manage.py rotate_upstream_keys`, then drop the fallback.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

log = logging.getLogger(__name__)
PREFIX = "fernet:"
PURPOSE = b"llmproxy: secrets kept in the database"


class UnsealError(Exception):
    """A stored secret that no key in SECRET_KEY or SECRET_KEY_FALLBACKS opens."""


def derive_key(secret: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE)
    return base64.urlsafe_b64encode(key.derive(secret.encode()))


_rings: dict[tuple[str, ...], MultiFernet] = {}


def keyring() -> MultiFernet:
    """The current key first (it encrypts), then the fallbacks (they only decrypt)."""
    secrets = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    ring = _rings.get(secrets)
    if ring is None:
        _rings.clear()
        ring = _rings[secrets] = MultiFernet([Fernet(derive_key(s)) for s in secrets])
    return ring


def seal(plain: str) -> str:
    if not plain:
        return plain
    return PREFIX + keyring().encrypt(plain.encode()).decode("ascii")


def unseal_strictly(stored: str) -> str:
    if not stored or not stored.startswith(PREFIX):
        return stored  # empty, or stored before encryption
    try:
        return keyring().decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise UnsealError from None


def unseal(stored: str) -> str:
    """The plain secret; "" (and an error in the log) when no known key opens it."""
    try:
        return unseal_strictly(stored)
    except UnsealError:
        log.error(
            "A stored upstream API key cannot be decrypted with SECRET_KEY. If SECRET_KEY was "
            "changed, put the old one in SECRET_KEY_FALLBACKS and run `manage.py "
            "rotate_upstream_keys`; otherwise enter the key again in the admin."
        )
        return ""


class SealedField(models.TextField):
    """Text kept encrypted in the database and read back in plain (never for lookups)."""

    def from_db_value(self, value, expression, connection):
        return unseal(value) if isinstance(value, str) else value

    def get_db_prep_save(self, value, connection):
        if isinstance(value, str):
            value = seal(value)
        return super().get_db_prep_save(value, connection)
