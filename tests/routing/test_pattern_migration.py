"""Regex patterns saved when they matched the whole name keep that meaning after the upgrade
that makes them match anywhere (routes, keys) or from the start (the model map)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from routing.config.current import build_rules
from routing.models import GatewayKey, ModelMapping, Route
from routing.rules.engine import decide

BEFORE = [("routing", "0009_gateway_key_manage_models")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def fill_with_old_rule_rows(apps) -> None:
    upstream = apps.get_model("routing", "Upstream").objects.create(
        name="gpu", base_url="http://gpu:8000"
    )
    route = apps.get_model("routing", "Route")
    route.objects.create(position=1, name="small", match_model="/.*-1.5b/", upstream=upstream)
    route.objects.create(position=2, name="exact", match_model="llama", upstream=upstream)
    route.objects.create(position=3, name="anyone", match_source="10.0.0.0/8")
    mapping = apps.get_model("routing", "ModelMapping")
    mapping.objects.create(position=1, pattern="/gpt-(.*)/", replacement=r"qwen-\1")
    mapping.objects.create(position=2, pattern="gpt", replacement="exact-gpt")
    key = apps.get_model("routing", "GatewayKey")
    key.objects.create(
        name="k", key_hash="a" * 64, key_start="llmp_x", allowed_models="/llama/\n\nqwen\n"
    )


@pytest.mark.django_db(transaction=True)
def test_regexes_saved_under_the_whole_name_rule_keep_their_meaning():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        fill_with_old_rule_rows(migrate(BEFORE))
        migrate(latest)

        assert Route.objects.get(name="small").match_model == "/^(?:.*-1.5b)$/"
        assert Route.objects.get(name="exact").match_model == "llama"
        assert Route.objects.get(name="anyone").match_model == ""
        assert ModelMapping.objects.get(position=1).pattern == "/^(?:gpt-(.*))$/"
        assert ModelMapping.objects.get(position=2).pattern == "gpt"
        assert GatewayKey.objects.get().allowed_models == "/^(?:llama)$/\n\nqwen"

        rules = build_rules()
        assert decide(rules, "qwen-1.5b", "1.2.3.4").route == "small"
        assert decide(rules, "qwen-1.5b-instruct", "1.2.3.4").route != "small"
        assert decide(rules, "gpt-4o", "1.2.3.4").model == "qwen-4o"
        assert decide(rules, "my-gpt-4o", "1.2.3.4").model == "my-gpt-4o"
        key = next(iter(rules.gateway_keys.values()))
        assert key.allows("llama") and key.allows("qwen")
        assert not key.allows("meta-llama-3")
    finally:
        migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_the_migration_can_be_undone():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        fill_with_old_rule_rows(migrate(BEFORE))
        migrate(latest)
        apps = migrate(BEFORE)
        assert apps.get_model("routing", "Route").objects.get(name="small").match_model == (
            "/.*-1.5b/"
        )
        assert apps.get_model("routing", "ModelMapping").objects.get(position=1).pattern == (
            "/gpt-(.*)/"
        )
    finally:
        migrate(latest)
