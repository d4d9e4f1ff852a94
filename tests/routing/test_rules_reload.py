"""A configuration change reaches the running rules without a restart."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from routing.config import current as rules
from routing.models import ConfigVersion, Route


@pytest.mark.django_db(transaction=True)
async def test_saving_a_route_reloads_this_process_at_once():
    before = await rules.current_rules()
    await Route.objects.acreate(match_model="new-model", rewrite_model="x")
    after = await rules.current_rules()
    assert after is not before
    assert [r.model.source for r in after.routes] == ["new-model"]


@pytest.mark.django_db(transaction=True)
async def test_the_watcher_picks_up_a_change_made_by_another_process(settings):
    await rules.current_rules()
    # Another process bumps the version directly in the database.
    await sync_to_async(Route.objects.bulk_create)([Route(match_model="from-elsewhere")])
    await ConfigVersion.objects.aupdate_or_create(pk=1, defaults={"version": 999})
    rules._state["stale"] = False  # this process did not see the change itself
    watcher = asyncio.create_task(rules.watch_config_version(interval=0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            if rules._state["rules"].version == 999:
                break
    finally:
        watcher.cancel()
    current = rules._state["rules"]
    assert current.version == 999
    assert [r.model.source for r in current.routes] == ["from-elsewhere"]
