"""Guessing the admin's password: failed logins lock an account and an address out for a
while, counted in Django's cache (so in Redis, shared by every worker, with REDIS_URL)."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

PASSWORD = "a-long-admin-password-1"


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # quick
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_LOCKOUT_SECONDS = 900
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "a@example.com", PASSWORD)


def log_in(username: str, password: str, address: str = "10.0.0.1") -> tuple[bool, str]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        HTTP_HOST="localhost",
    )
    return "_auth_user_id" in client.session, response.content.decode()


def test_the_right_password_after_too_many_wrong_ones_is_refused(admin_user):
    for _ in range(5):
        assert log_in("admin", "wrong-guess")[0] is False
    ok, page = log_in("admin", PASSWORD)
    assert not ok
    assert "Too many failed logins" in page


def test_an_account_locked_from_one_address_is_locked_from_every_address(admin_user):
    for i in range(5):
        log_in("admin", "wrong-guess", f"10.0.1.{i}")
    assert log_in("admin", PASSWORD, "10.0.9.9")[0] is False


def test_one_address_guessing_many_accounts_is_locked_out(admin_user):
    for i in range(20):
        log_in(f"user{i}", "wrong-guess", "10.0.2.2")
    assert log_in("admin", PASSWORD, "10.0.2.2")[0] is False
    assert log_in("admin", PASSWORD, "10.0.3.3")[0] is True  # others are not affected


def test_a_few_mistakes_then_the_right_password_log_in_and_start_afresh(admin_user):
    for _ in range(4):
        log_in("admin", "typo")
    assert log_in("admin", PASSWORD)[0] is True
    for _ in range(4):
        log_in("admin", "typo")
    assert log_in("admin", PASSWORD)[0] is True


def test_counts_live_in_the_shared_cache(admin_user, settings):
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": prefix,
        }
    }
    server = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        for _ in range(5):
            log_in("admin", "wrong-guess", "10.0.4.4")
        assert server.keys(f"{prefix}:*"), "no count reached Redis"
        assert log_in("admin", PASSWORD, "10.0.5.5")[0] is False
    finally:
        for key in server.keys(f"{prefix}:*"):
            server.delete(key)
