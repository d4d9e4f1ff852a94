"""export_chatml's exact format, filters and exclusions; pruning; interrupted rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from recording.capture import digest
from recording.maintenance import mark_interrupted, prune_logs
from recording.models import Conversation, RequestBody, RequestLog, State
from routing.core.exchange import new_request_id

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def conversation(
    workflow="default", model="llama3", when=T0, content="Hi", tools=None, model_in="gpt-4"
):
    messages = [
        {"role": "user", "content": content},
        {"role": "assistant", "content": f"re: {content}"},
    ]
    return Conversation.objects.create(
        request_id=new_request_id(),
        workflow=workflow,
        model=model,
        model_in=model_in,
        created_at=when,
        messages=messages,
        tools=tools,
        finish_reason="stop",
        digest=digest(messages),
    )


def export(tmp_path, *args: str) -> str:
    out = StringIO()
    call_command("export_chatml", "--out", str(tmp_path), *args, stdout=out)
    return out.getvalue()


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_it_writes_one_jsonl_file_per_workflow_in_the_exact_format(tmp_path):
    tools = [{"type": "function", "function": {"name": "f"}}]
    conversation("support", when=T0, tools=tools)
    conversation("support", when=T0 + timedelta(minutes=1), content="Second")
    conversation("default", when=T0)
    summary = export(tmp_path)
    assert summary.strip() == f"Exported 3 sessions (3 turns) in 2 files, 0 skipped to {tmp_path}"
    support = read(tmp_path / "support" / "conversations.jsonl")
    assert support[0] == {
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "re: Hi"}],
        "timestamp": "2026-05-01T12:00:00Z",
        "model": "llama3",
        "workflow_id": "support",
        "tools": tools,
    }
    assert "tools" not in support[1]
    assert [r["messages"][0]["content"] for r in support] == ["Hi", "Second"]
    assert len(read(tmp_path / "default" / "conversations.jsonl")) == 1


def test_filters_select_by_workflow_dates_and_model(tmp_path):
    conversation("a", when=T0)
    conversation("a", when=T0 + timedelta(days=2), model="mistral", content="later")
    conversation("b", when=T0)
    export(tmp_path, "--workflow", "a", "--since", "2026-05-02", "--model", "mistral")
    assert not (tmp_path / "b").exists()
    [record] = read(tmp_path / "a" / "conversations.jsonl")
    assert record["messages"][0]["content"] == "later"
    export(tmp_path / "x", "--until", "2026-05-02", "--model", "gpt-4")
    assert len(read(tmp_path / "x" / "a" / "conversations.jsonl")) == 1


def test_dedupe_skips_identical_conversations(tmp_path):
    conversation(content="same")
    conversation(content="same", when=T0 + timedelta(seconds=5))
    conversation(content="other")
    summary = export(tmp_path, "--dedupe")
    assert "2 sessions (2 turns) in 1 files, 1 skipped" in summary


def test_an_unsafe_workflow_name_is_never_a_path(tmp_path):
    conversation("../../escape")
    summary = export(tmp_path)
    assert "0 sessions (0 turns) in 0 files, 1 skipped" in summary
    assert not (tmp_path.parent / "escape").exists()


def log_row(days_old: float, state=State.OK) -> RequestLog:
    row = RequestLog.objects.create(
        id=new_request_id(),
        started_at=timezone.now() - timedelta(days=days_old),
        state=state,
        service="openai",
        endpoint="/v1/chat/completions",
        node="n1",
    )
    RequestBody.objects.create(request=row, request_body=b"", response_body=b"")
    return row


def test_pruning_deletes_old_rows_and_bodies_and_keeps_training_data():
    old, recent = log_row(10), log_row(1)
    conversation()
    out = StringIO()
    call_command("prune_logs", "--days", "7", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 request logs older than 7 days"
    assert list(RequestLog.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not RequestBody.objects.filter(pk=old.pk).exists()
    assert Conversation.objects.count() == 1


def test_pruning_works_in_batches():
    for _ in range(5):
        log_row(30)
    assert prune_logs(7, batch=2) == 5
    assert RequestLog.objects.count() == 0


def test_rows_left_in_progress_by_this_node_become_interrupted():
    mine = log_row(0, State.IN_PROGRESS)
    theirs = log_row(0, State.IN_PROGRESS)
    RequestLog.objects.filter(pk=theirs.pk).update(node="n2")
    assert mark_interrupted("n1") == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, theirs.state) == (State.INTERRUPTED, State.IN_PROGRESS)
