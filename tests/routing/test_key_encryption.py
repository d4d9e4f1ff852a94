"""Upstream API keys are kept encrypted with a key derived from SECRET_KEY: the table holds
no plain key, the request path still sends the right one, keys stored in plain text
before are encrypted by a migration, and a new SECRET_KEY takes over with rotation."""

from __future__ import annotations

import logging

import pytest
import respx
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from routing.models import Route, Upstream
from tests.routing.helpers import chat_reply

CHAT = "/v1/chat/completions"
HELLO = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
KEY = "sk-cloud-0123456789abcdef"


def stored(name: str) -> str:
    """The column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM routing_upstream WHERE name = %s", [name])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_table_holds_no_plain_key_and_the_model_reads_it_back():
    Upstream.objects.create(name="cloud", base_url="http://cloud.test", api_key=KEY)
    raw = stored("cloud")
    assert KEY not in raw and raw.startswith("fernet:")
    assert Upstream.objects.get(name="cloud").api_key == KEY
    Upstream.objects.create(name="open", base_url="http://open.test")
    assert stored("open") == ""  # no key: nothing to hide


@pytest.mark.django_db
def test_the_same_key_is_stored_differently_each_time():
    Upstream.objects.create(name="a", base_url="http://a.test", api_key=KEY)
    Upstream.objects.create(name="b", base_url="http://b.test", api_key=KEY)
    assert stored("a") != stored("b")


async def test_the_upstream_still_receives_its_key(gateway, upstream):
    cloud = await Upstream.objects.acreate(name="cloud", base_url="http://cloud.test", api_key=KEY)
    await Route.objects.acreate(match_model="m", upstream=cloud)
    with respx.mock as mock:
        route = mock.post("http://cloud.test/v1/chat/completions").respond(json=chat_reply("x"))
        await gateway.post(CHAT, json=HELLO)
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.django_db
def test_a_new_secret_key_reads_old_keys_through_the_fallbacks_then_rotates(settings):
    settings.SECRET_KEY = "the-old-secret-key-0123456789"
    Upstream.objects.create(name="cloud", base_url="http://cloud.test", api_key=KEY)
    before = stored("cloud")
    settings.SECRET_KEY = "the-new-secret-key-9876543210"
    settings.SECRET_KEY_FALLBACKS = ["the-old-secret-key-0123456789"]
    assert Upstream.objects.get().api_key == KEY
    call_command("rotate_upstream_keys", stdout=(out := _Out()))
    assert "1 upstream key" in out.text
    assert stored("cloud") != before
    settings.SECRET_KEY_FALLBACKS = []
    assert Upstream.objects.get().api_key == KEY  # now under the new key alone


@pytest.mark.django_db
def test_a_key_sealed_under_an_unknown_secret_reads_as_empty_and_says_why(settings, caplog):
    settings.SECRET_KEY = "a-secret-key-that-was-lost-0000"
    Upstream.objects.create(name="cloud", base_url="http://cloud.test", api_key=KEY)
    settings.SECRET_KEY = "a-brand-new-secret-key-1111111"
    with caplog.at_level(logging.ERROR):
        assert Upstream.objects.get().api_key == ""
    assert "SECRET_KEY_FALLBACKS" in caplog.text and KEY not in caplog.text


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_keys_stored_in_plain_text_before_are_encrypted_by_the_migration():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before = [("routing", "0010_regex_patterns_as_the_seeds")]
    try:
        executor.migrate(before)
        apps = executor.loader.project_state(before).apps
        apps.get_model("routing", "Upstream").objects.create(
            name="legacy", base_url="http://legacy.test", api_key=KEY
        )
        assert stored("legacy") == KEY
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        assert stored("legacy").startswith("fernet:") and KEY not in stored("legacy")
        assert Upstream.objects.get(name="legacy").api_key == KEY
    finally:
        MigrationExecutor(connection).migrate(latest)
