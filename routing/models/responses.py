"""Responses kept for the Responses API (`store`), so that `previous_response_id` can go on."""

from __future__ import annotations

import orjson
from django.db import models

from routing.models.request_path import compress, decompress


class StoredResponse(models.Model):
    """One Response and the conversation that led to it, served only to whoever made it.

    `context` holds every item before this response's output (the stored conversation it
    continued, then its own input), so continuing from it is one read. A response that a
    Responses-speaking upstream answered keeps its state there: the row only remembers
    which upstream, and the gateway forwards later calls about it.
    """

    id = models.CharField(max_length=80, primary_key=True)  # resp_…, or the upstream's id
    owner = models.CharField(max_length=120)  # key:name, auth:sha256, ip:address (as the cache)
    gateway_key = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)  # as the client named it
    status = models.CharField(max_length=16)
    previous_response_id = models.CharField(max_length=80, blank=True)
    upstream = models.CharField(
        max_length=100, blank=True, help_text="Set when that upstream keeps the response itself."
    )
    request_id = models.UUIDField(null=True, blank=True)  # its row in the request log
    created_at = models.DateTimeField(db_index=True)
    response = models.BinaryField()  # compressed JSON: the Response object
    context = models.BinaryField()  # compressed JSON: the items before its output

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id

    @staticmethod
    def pack(value: object) -> bytes:
        return compress(orjson.dumps(value))

    def unpack(self, field: str) -> object:
        data = decompress(getattr(self, field))
        return orjson.loads(data) if data else None
