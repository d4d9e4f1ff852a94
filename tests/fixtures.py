"""Fixtures of the Django tier: the gateway driven in-process through its ASGI app, upstreams
mocked by respx. The tiers that need them import them in their conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

UPSTREAM = "http://upstream.test"


@pytest.fixture(autouse=True)
def gateway_settings(settings):
    """respx intercepts httpx's own transport, so Django-level tests use it."""
    from routing.config.current import invalidate_rules
    from routing.guard import cache
    from routing.upstreams.health import health

    cache.recent.items.clear()
    health.states.clear()

    settings.UPSTREAM_TRANSPORT = "httpx"
    settings.DEFAULT_UPSTREAM = UPSTREAM
    settings.OPENAI_API_KEY = ""
    settings.DEFAULT_MODEL = ""
    settings.STRIP_THINKING = "strip"
    settings.DISABLE_THINKING = False
    settings.STRIP_JSON_MARKDOWN = False
    settings.RATE_LIMIT = None  # the rate-limit tests set their own
    settings.REQUIRE_GATEWAY_KEY = False
    settings.CACHE_ENABLED = False
    settings.RECORD_JOURNAL = False  # the journal's own tests run real processes
    invalidate_rules()
    yield settings
    invalidate_rules()


@pytest.fixture
def upstream():
    with respx.mock(base_url=UPSTREAM, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def gateway(transactional_db):
    from llmproxy.asgi import application
    from routing.core import lifecycle

    transport = httpx.ASGITransport(app=application, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client
    await lifecycle.shutdown()


@pytest.fixture
def recorded():
    """Wait for the background writers (request log, response cache), then return the newest
    rows."""
    from recording.writer import writer
    from routing.guard.cache_store import store

    def rows(n: int = 1):
        from recording.models import RequestLog

        assert writer.flush(10), "the writer did not catch up"
        store.flush()
        return list(RequestLog.objects.order_by("-started_at")[:n])

    return rows


def make_row(minutes_ago: float = 0, **fields):
    """A request log row as the writer leaves it: in the log, and in the hourly statistics
    once finished."""
    from recording.models import RequestLog, State
    from recording.rollup import StatDeltas
    from routing.core.exchange import new_request_id

    defaults = {
        "state": State.OK,
        "status": 200,
        "service": "openai",
        "endpoint": "/v1/chat/completions",
        "model_in": "gpt-4",
        "model_out": "llama",
        "duration_ms": 100.0,
        "prompt_tokens": 3,
        "completion_tokens": 5,
    }
    row = RequestLog.objects.create(
        id=new_request_id(),
        started_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        **{**defaults, **fields},
    )
    if row.state != State.IN_PROGRESS:
        deltas = StatDeltas()
        deltas.add(RequestLog.objects.filter(pk=row.pk).values().get())
        for statement in deltas.statements():
            statement.execute()
    return row
