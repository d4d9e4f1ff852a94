"""Security headers on pages and API, a clean `check --deploy`, the first admin user."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from llmproxy.startup import ensure_admin
from tests.routing.helpers import chat_reply

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/v1/docs"])
def test_pages_carry_a_strict_content_security_policy(client, path):
    response = client.get(path, HTTP_HOST="localhost")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "cdn" not in response.content.decode().lower()
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


async def test_api_answers_carry_the_headers_too(gateway, upstream):
    upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    response = await gateway.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "server" not in response.headers


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = deploy_check(
        SECURE="true",
        DEBUG="false",
        ALLOWED_HOSTS="gateway.example.com",
        SECRET_KEY="k" * 20 + "-x8Jq2LmN0pQ7rS5tU3vW1yZ9aB4cD6eF8gH0iJ2kL4mN",
        DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_them(tmp_path):
    result = deploy_check(DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "security.W004" in result.stderr or "security.W004" in result.stdout


@pytest.mark.django_db
def test_the_first_start_explains_how_to_get_an_admin_or_creates_it(settings):
    assert "createsuperuser" in ensure_admin()
    settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD = "boss", "a-long-password-1"
    assert ensure_admin() == "Created the admin user 'boss' (ADMIN_USERNAME)."
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.check_password("a-long-password-1")
    assert ensure_admin() is None
