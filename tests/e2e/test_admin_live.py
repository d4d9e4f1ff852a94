"""Admin changes reach a running gateway within two seconds, from a form and from a browser."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.browser import browser_page, log_in
from tests.e2e.procs import create_admin, logged_in, start_gateway

pytestmark = pytest.mark.e2e
PASSWORD = "admin-e2e-password-1"


@pytest.fixture(scope="module")
def admin_gateway(e2e_dir, fake):
    proc, url = start_gateway(e2e_dir, fake)
    create_admin(proc, PASSWORD)
    yield url
    proc.stop()


def reply_of(url: str, model: str) -> str:
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "x"}]},
    )
    return response.json()["choices"][0]["message"]["content"]


def wait_for_reply(url: str, model: str, expected: str, within: float = 2.0) -> float:
    start = time.monotonic()
    while reply_of(url, model) != expected:
        assert time.monotonic() - start < within, f"{model} did not answer {expected!r}"
        time.sleep(0.05)
    return time.monotonic() - start


def test_a_mapping_saved_in_the_admin_form_reaches_the_gateway(admin_gateway):
    with logged_in(admin_gateway, PASSWORD) as session:
        assert reply_of(admin_gateway, "form-alias") == "x"  # the fake echoes the prompt
        saved = session.post(
            "/admin/routing/modelmapping/add/",
            data={
                "position": "10",
                "pattern": "form-alias",
                "replacement": "echo+words:4",
                "enabled": "on",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
        )
        assert saved.status_code == 302
    wait_for_reply(admin_gateway, "form-alias", "w0 w1 w2 w3")


def test_a_route_edited_in_a_browser_is_followed_by_the_next_requests(admin_gateway):
    with browser_page(admin_gateway) as (page, errors, outside):
        log_in(page, "admin", PASSWORD)
        page.goto("/admin/routing/route/add/")
        page.fill("input[name=name]", "browser route")
        page.fill("input[name=match_model]", "browser-model")
        page.fill("input[name=rewrite_model]", "echo+words:2")
        page.click("input[name=_save]")
        page.wait_for_url("**/admin/routing/route/")
        wait_for_reply(admin_gateway, "browser-model", "w0 w1")
        page.click("text=browser route")
        page.fill("input[name=rewrite_model]", "echo+words:3")
        page.click("input[name=_save]")
        page.wait_for_url("**/admin/routing/route/")
        wait_for_reply(admin_gateway, "browser-model", "w0 w1 w2")
        page.goto("/admin/routing/route/explain/?model=browser-model&client=127.0.0.1")
        assert "echo+words:3" in page.inner_text("#decision")
    assert errors == [] and outside == []
