"""Tables the request path reads besides its configuration: workflows (joined by port or by
`workflow_id`) and the response cache."""

from __future__ import annotations

import re
import zlib

from django.core.validators import RegexValidator
from django.db import models

WORKFLOW_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # whole names: use fullmatch
validate_workflow_name = RegexValidator(
    rf"^{WORKFLOW_NAME.pattern}$", "Use 1 to 64 letters, digits, '-' or '_'."
)


class Workflow(models.Model):
    """A named stream of training data; requests join it by port or by `workflow_id`."""

    name = models.CharField(max_length=64, unique=True, validators=[validate_workflow_name])
    port = models.PositiveIntegerField(
        null=True, blank=True, unique=True, help_text="Requests arriving on this port join it."
    )
    description = models.TextField(blank=True)
    source = models.CharField(max_length=10, default="admin")  # "admin" or "file" (MAPPINGS_FILE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def compress(data: bytes) -> bytes:
    return zlib.compress(data, 1)  # level 1: fast, and bodies are small


def decompress(data: bytes | memoryview | None) -> bytes:
    return zlib.decompress(bytes(data)) if data else b""


class CachedResponse(models.Model):
    """A complete 2xx answer, kept for identical requests of the same caller."""

    key = models.CharField(max_length=64, unique=True)  # sha256 of method, path, body, caller
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=64)
    model = models.CharField(max_length=200, blank=True)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()  # compressed, as delivered to the first caller
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.path} {self.model} ({self.hits} hits)"
