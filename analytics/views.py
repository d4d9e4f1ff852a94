"""The dashboard's pages (staff only). Data comes from the JSON APIs and the live channel."""

from __future__ import annotations

import json

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from analytics import queries
from analytics import stats as range_stats
from analytics.health import upstream_health
from analytics.transcript import transcript
from recording.models import Conversation, RequestBody, RequestLog
from routing.apis import KINDS, SERVICES

FIRST_PAGE = 50


def json_safe(data: object) -> object:
    """UUIDs and datetimes as text, for json_script."""
    return json.loads(json.dumps(data, default=str))


FILTER_CHOICES = {"services": SERVICES, "kinds": KINDS}


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    since = range_stats.range_start("24h", timezone.now())
    logs, cursor = queries.log_page(queries.LogFilter(since=since), FIRST_PAGE, None)
    initial = {
        "range": "24h",
        "stats": range_stats.stats("24h"),
        "inflight": queries.inflight(),
        "logs": {"data": logs, "next": cursor},
        "upstreams": upstream_health(),
    }
    context = {"initial": json_safe(initial), "section": "dashboard", **FILTER_CHOICES}
    return render(request, "analytics/dashboard.html", context)


@staff_member_required
def performance(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "analytics/performance.html",
        {
            "initial": json_safe(range_stats.performance("24h")),
            "section": "performance",
            **FILTER_CHOICES,
        },
    )


@staff_member_required
def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    row = RequestLog.objects.filter(pk=request_id).first()
    if row is None:
        raise Http404("No such request.")
    body = RequestBody.objects.filter(pk=row.pk).first()
    conversation = Conversation.objects.filter(request_id=row.pk).first()
    context = {
        "row": row,
        "body": body,
        "headers": json.dumps(body.headers(), indent=2) if body else "",
        "messages": transcript(row, body, conversation),
        "tokens_per_second": (
            row.completion_tokens * 1000 / row.duration_ms
            if row.completion_tokens and row.duration_ms
            else None
        ),
    }
    return render(request, "analytics/request.html", context)
