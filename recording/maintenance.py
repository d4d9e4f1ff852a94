"""Retention and start-up repair of the request log."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from recording.models import RequestBody, RequestLog, State
from recording.rollup import StatDeltas
from routing.models import CachedResponse, StoredResponse

log = logging.getLogger(__name__)
BATCH = 2000
VACUUM_AFTER = 10_000  # rows deleted before SQLite gives free pages back


@transaction.atomic
def mark_interrupted(node: str) -> int:
    """Rows this node left in progress (it was killed or crashed) become interrupted."""
    rows = RequestLog.objects.select_for_update().filter(state=State.IN_PROGRESS, node=node)
    deltas = StatDeltas()
    for row in rows.values("started_at", "service", "model_in"):
        deltas.add({**row, "state": State.INTERRUPTED})
    for statement in deltas.statements():
        statement.execute()
    return rows.update(
        state=State.INTERRUPTED,
        finished_at=timezone.now(),
        error="the gateway stopped before the request finished",
    )


def prune_logs(days: float, batch: int = BATCH) -> int:
    """Delete rows (and their bodies) older than `days`, in small transactions."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            RequestLog.objects.filter(started_at__lt=cutoff)
            .exclude(state=State.IN_PROGRESS)
            .order_by("started_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            RequestBody.objects.filter(request_id__in=ids).delete()
            RequestLog.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    if deleted >= VACUUM_AFTER:
        compact_database()
    return deleted


def purge_cache() -> int:
    """Delete cached responses past their expiry."""
    deleted, _ = CachedResponse.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def prune_stored_responses(days: float, batch: int = BATCH) -> int:
    """Delete responses kept for the Responses API (store) older than `days`."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while ids := list(
        StoredResponse.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch]
    ):
        StoredResponse.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def compact_database() -> None:
    """Let SQLite reuse and release space after a large delete, without a long lock."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA incremental_vacuum(2000)")
        cursor.execute("PRAGMA optimize")
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


async def prune_periodically() -> None:
    """Every PRUNE_INTERVAL_SECONDS: expired cached answers, then logs and stored responses
    past their age (stored responses whether or not requests are logged)."""
    while True:
        await asyncio.sleep(settings.PRUNE_INTERVAL_SECONDS)
        try:
            await sync_to_async(purge_cache, thread_sensitive=False)()
            if settings.MAX_LOG_AGE_DAYS <= 0:
                continue
            days = settings.MAX_LOG_AGE_DAYS
            prune = sync_to_async(prune_stored_responses, thread_sensitive=False)
            if deleted := await prune(days):
                log.info("pruned %d stored responses older than %g days", deleted, days)
            if not settings.ENABLE_LOGGING:
                continue
            if deleted := await sync_to_async(prune_logs, thread_sensitive=False)(days):
                log.info("pruned %d request logs older than %g days", deleted, days)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be briefly away: try again next round
            log.warning("pruning failed", exc_info=True)
