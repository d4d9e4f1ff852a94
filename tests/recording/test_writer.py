"""The recording writer: batches, survives a database that is away, bounds its memory."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from recording.models import RequestLog
from recording.writer import Writer
from routing.core.exchange import OK, Exchange
from routing.rules.engine import Decision, Transforms, UpstreamSpec

pytestmark = pytest.mark.django_db(transaction=True)


def exchange(finished: bool = True) -> Exchange:
    x = Exchange(
        service="openai",
        endpoint="/v1/chat/completions",
        kind="chat",
        client="1.2.3.4",
        model_in="m",
        decision=Decision(UpstreamSpec("u", "http://u"), "m", Transforms()),
        stream=False,
        body={"messages": []},
        usage={"prompt_tokens": 1, "completion_tokens": 1},
    )
    if finished:
        x.finish(OK, 200)
    return x


def test_a_long_request_is_inserted_in_progress_then_updated():
    writer = Writer()
    x = exchange(finished=False)
    writer.submit("start", x)
    assert writer.flush(5)
    assert RequestLog.objects.get(pk=x.id).state == "in_progress"
    x.finish(OK, 200)
    writer.submit("finish", x)
    assert writer.flush(5)
    assert RequestLog.objects.get(pk=x.id).state == "ok"


def test_rows_wait_while_the_database_is_away_and_are_written_after(monkeypatch, settings):
    settings.RECORD_FLUSH_SECONDS = 0.01
    writer = Writer()
    real = Writer._store
    failures = {"left": 3}

    def flaky(self, rows, statements):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is locked")
        return real(self, rows, statements)

    monkeypatch.setattr(Writer, "_store", flaky)
    items = [exchange() for _ in range(5)]
    for x in items:
        writer.submit("finish", x)
    assert writer.flush(10)
    assert RequestLog.objects.count() == 5
    assert writer.stats.failures == 3 and writer.stats.dropped == 0


def test_a_full_queue_counts_what_it_drops(settings):
    settings.RECORD_QUEUE_SIZE = 100
    writer = Writer()  # nothing drains it here: no task runs and nobody flushes
    for _ in range(150):
        writer.submit("finish", exchange())
    assert writer.stats.dropped == 50


def test_one_bad_row_does_not_block_the_others(monkeypatch):
    writer = Writer()
    good, bad = exchange(), exchange()
    bad.model_in = None  # violates NOT NULL
    writer.submit("finish", good)
    writer.submit("finish", bad)
    assert writer.flush(5)
    assert list(RequestLog.objects.values_list("pk", flat=True)) == [good.id]
    assert writer.stats.dropped == 1


async def test_the_background_task_writes_without_anyone_flushing(settings):
    import asyncio

    settings.RECORD_FLUSH_SECONDS = 0.01
    writer = Writer()
    task = asyncio.create_task(writer.run())
    try:
        items = [exchange() for _ in range(60)]
        for x in items:
            writer.submit("finish", x)
        for _ in range(1000):  # the in-memory test database may be locked for a moment
            await asyncio.sleep(0.01)
            if await RequestLog.objects.acount() == 60:
                break
    finally:
        task.cancel()
    assert await RequestLog.objects.acount() == 60
    assert writer.stats.written == 60


async def test_the_tokenizer_is_built_off_the_event_loop_before_counting(settings, monkeypatch):
    import asyncio
    import threading

    from routing.streams import tokens

    settings.RECORD_FLUSH_SECONDS = 0.01
    loop_thread, built_on = threading.current_thread(), []
    monkeypatch.setattr(tokens, "_encodings", {})
    real_build = tokens._build

    def build(name):
        built_on.append(threading.current_thread())
        return real_build(name)

    monkeypatch.setattr(tokens, "_build", build)
    writer = Writer()
    task = asyncio.create_task(writer.run())
    try:
        x = exchange()
        x.usage, x.body = None, {"messages": [{"role": "user", "content": "count these words"}]}
        writer.submit("finish", x)
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if writer.stats.written:
                break
    finally:
        task.cancel()
    row = await RequestLog.objects.aget(pk=x.id)
    assert row.prompt_tokens > 3 and row.tokens_estimated
    assert built_on and loop_thread not in built_on
