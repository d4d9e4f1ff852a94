"""The dashboard in a real browser and over a real websocket, against a running gateway."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.browser import browser_page, log_in
from tests.e2e.procs import create_admin, logged_in, start_gateway

pytestmark = pytest.mark.e2e
PASSWORD = "dashboard-e2e-password-1"
EVIL = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def dashboard(e2e_dir, fake):
    proc, url = start_gateway(e2e_dir, fake, RECORD_FLUSH_SECONDS="0.05")
    create_admin(proc, PASSWORD)
    yield url
    proc.stop()


def session_cookie(url: str) -> str:
    with logged_in(url, PASSWORD) as session:
        return session.cookies["sessionid"]


def chat(url: str, model: str, content: str = "hello", stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        timeout=30,
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]},
    )


def test_a_real_websocket_client_sees_requests_start_and_finish(dashboard):
    ws_url = dashboard.replace("http://", "ws://") + "/ws/dashboard/"
    headers = {"Cookie": f"sessionid={session_cookie(dashboard)}", "Origin": dashboard}
    with connect(ws_url, additional_headers=headers, open_timeout=5) as socket:
        background = threading.Thread(target=chat, args=(dashboard, "echo+words:8+delay:150"))
        background.start()
        seen = []
        while "finished" not in seen:
            message = json.loads(socket.recv(timeout=10))
            seen += [e["event"] for e in message["events"]]
        background.join()
    assert seen[0] == "started" and "finished" in seen


def test_a_websocket_without_a_session_or_from_elsewhere_is_refused(dashboard):
    ws_url = dashboard.replace("http://", "ws://") + "/ws/dashboard/"
    with pytest.raises(InvalidStatus) as anonymous:
        connect(ws_url, additional_headers={"Origin": dashboard})
    assert anonymous.value.response.status_code == 403
    cookie = f"sessionid={session_cookie(dashboard)}"
    with pytest.raises(InvalidStatus) as foreign:
        connect(ws_url, additional_headers={"Cookie": cookie, "Origin": "http://evil.example"})
    assert foreign.value.response.status_code == 403


def test_the_dashboard_live_filters_opens_a_request_and_plots_performance(dashboard):
    chat(dashboard, EVIL, EVIL)  # hostile text must show as text everywhere
    with browser_page(dashboard) as (page, errors, outside):
        log_in(page, "admin", PASSWORD)
        page.goto("/")
        page.wait_for_selector("#live[data-state=live]")
        slow = threading.Thread(
            target=chat, args=(dashboard, "echo+words:12+delay:250", "slow one", True)
        )
        slow.start()
        inflight = page.wait_for_selector("#inflight tbody tr", timeout=10_000)
        assert "echo+words:12+delay:250" in inflight.inner_text()
        page.wait_for_selector("#inflight tbody tr", state="detached", timeout=15_000)
        slow.join()
        first_log_row = page.locator("#log tbody tr").first
        assert "echo+words:12+delay:250" in first_log_row.inner_text()
        upstream = page.locator("#upstreams tbody tr").first
        expect(upstream).to_contain_text("default")
        expect(upstream).to_contain_text("ok", timeout=10_000)  # it has answered since

        page.fill("#filters input[name=model]", EVIL)
        page.click("#filters button[type=submit]")
        expect(page.locator("#log tbody tr")).to_have_count(1)
        assert EVIL in page.locator("#log tbody tr").first.inner_text()

        page.locator("#log tbody tr a").first.click()
        page.wait_for_url("**/request/*")
        assert EVIL in page.inner_text("#transcript")

        page.goto("/performance")
        page.wait_for_selector("#models tbody tr")
        points = page.evaluate(  # evaluate() is the browser's own: the page's CSP allows it
            "() => Chart.getChart(document.getElementById('chart-duration'))"
            ".data.datasets.reduce((n, d) => n + d.data.length, 0)"
        )
        assert points >= 2
        assert page.locator("#models tbody tr").count() >= 2
        assert page.evaluate("window.__pwned") is None
    assert errors == [] and outside == []
