"""Workflows and the response cache moved from the recording app to the routing app: a database
made by the earlier migrations keeps every row, and the links between them, once migrated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from recording.models import CurationRules, RequestLog
from routing.models import CachedResponse, Route, Workflow, compress, decompress

BEFORE = [("routing", "0005_route_targets"), ("recording", "0006_curation")]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def fill_the_old_tables(apps) -> None:
    old_workflow = apps.get_model("recording", "Workflow")
    agents = old_workflow.objects.create(name="agents", port=9001, description="coding agents")
    old_workflow.objects.create(name="chat", source="file")
    apps.get_model("recording", "CurationRules").objects.create(
        workflow=agents, min_chars=5, patterns="as an AI"
    )
    cached = apps.get_model("recording", "CachedResponse")
    for i in range(3):
        cached.objects.create(
            key=f"{i:064d}",
            method="POST",
            path="/v1/chat/completions",
            model="qwen",
            status=200,
            content_type="application/json",
            body=compress(b'{"answer": %d}' % i),
            created_at=NOW,
            expires_at=NOW + timedelta(hours=1),
            hits=i,
        )
    apps.get_model("routing", "Route").objects.create(name="kept", match_model="qwen")
    apps.get_model("recording", "RequestLog").objects.create(
        id="018f0000-0000-7000-8000-000000000001",
        started_at=NOW,
        service="openai",
        endpoint="/v1/chat/completions",
        workflow="agents",
    )


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_the_move_are_all_found_after_it():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        fill_the_old_tables(migrate(BEFORE))
        migrate(latest)

        agents = Workflow.objects.get(name="agents")
        assert (agents.port, agents.description, agents.source) == (9001, "coding agents", "admin")
        assert Workflow.objects.get(name="chat").source == "file"
        rules = CurationRules.objects.get()
        assert (rules.workflow, rules.min_chars, rules.patterns) == (agents, 5, "as an AI")
        answers = {row.key: row for row in CachedResponse.objects.all()}
        assert sorted(row.hits for row in answers.values()) == [0, 1, 2]
        assert decompress(answers[f"{2:064d}"].body) == b'{"answer": 2}'
        assert Route.objects.get().name == "kept"
        assert RequestLog.objects.get().workflow == "agents"
        tables = set(connection.introspection.table_names())
        assert {"routing_workflow", "routing_cachedresponse"} <= tables
        assert not {"recording_workflow", "recording_cachedresponse"} & tables
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_workflow_still_deletes_its_curation_rules():
    flow = Workflow.objects.create(name="short-lived")
    CurationRules.objects.create(workflow=flow)
    flow.delete()
    assert not CurationRules.objects.exists()
