"""Staff-only JSON APIs over the request log: logs, one log, inflight, stats."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.errors import AuthorizationError
from ninja.security import APIKeyCookie

from analytics import queries
from analytics import stats as range_stats
from analytics.health import upstream_health
from recording.models import Conversation, RequestBody, RequestLog
from recording.writer import writer

router = Router(tags=["Logs"])


class StaffOnly(APIKeyCookie):
    """The admin's session: anonymous callers get 401, logged-in non-staff 403."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> object | None:
        user = request.user
        if not user.is_authenticated:
            return None
        if not user.is_staff:
            raise AuthorizationError
        return user


class LogQuery(queries.LogFilter):
    limit: int = 50
    before: UUID | None = None  # the `next` of the previous page


@router.get("/logs", summary="Request log, newest first")
def logs(request: HttpRequest, q: Query[LogQuery]) -> dict:
    page, cursor = queries.log_page(q, max(1, min(q.limit, 200)), q.before)
    return {"data": page, "next": cursor}


@router.get("/logs/{uuid:request_id}", summary="One request with its bodies")
def log_detail(request: HttpRequest, request_id: str) -> dict:
    fields = (*queries.LOG_FIELDS, "attempts")
    row = get_object_or_404(RequestLog.objects.values(*fields), pk=request_id)
    row["attempts"] = row["attempts"] or []  # one try (or none) is not listed
    body = RequestBody.objects.filter(pk=request_id).first()
    conversation = (
        Conversation.objects.filter(request_id=request_id)
        .values("workflow", "messages", "tools")
        .first()
    )
    row["bodies"] = {
        "request_headers": body.headers() if body else {},
        "request": body.request_text() if body else "",
        "response": body.response_text() if body else "",
        "truncated": body.truncated if body else False,
    }
    row["conversation"] = conversation
    return row


@router.get("/inflight", summary="Requests in progress on every node")
def inflight(request: HttpRequest) -> dict:
    return {"data": queries.inflight()}


@router.get("/stats", summary="Totals, by service and model, last hour")
def stats(request: HttpRequest, range: str = "all", key: str | None = None) -> dict:
    data = range_stats.stats(range if range in range_stats.RANGES else "all", key=key)
    data.update(range_stats.flat_counts(data, key))
    data["recording"] = {
        "enabled": settings.ENABLE_LOGGING,
        "queued": writer.stats.queued,
        "written": writer.stats.written,
        "dropped": writer.stats.dropped,
        "failures": writer.stats.failures,
    }
    return data


@router.get("/performance", summary="Points and per-model figures for the performance page")
def performance(request: HttpRequest, range: str = "24h", service: str = "") -> dict:
    return range_stats.performance(range if range in range_stats.RANGES else "24h", service)


@router.get("/upstreams", summary="Health of every upstream, as this process sees it")
def upstreams(request: HttpRequest) -> dict:
    return {"data": upstream_health()}
