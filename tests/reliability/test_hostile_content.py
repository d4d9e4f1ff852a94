"""Model names, prompts and route names carrying HTML and script, opened in a real browser on
every page that shows them: nothing runs, nothing is even tried (no CSP refusals, no stray
loads), and the text shows as text."""

from __future__ import annotations

import threading
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.browser import browser_page, log_in
from tests.e2e.procs import start_gateway
from tests.reliability.helpers import create_admin, hex_id, in_progress, query, wait_until

pytestmark = pytest.mark.e2e

PASSWORD = "hostile-password-1"
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload="window.__pwned=1">',
    "';window.__pwned=1;//",
    '{{constructor.constructor("window.__pwned=1")()}}',
    '<a href="javascript:window.__pwned=1" id="pwn">x</a>',
    "${window.__pwned=1}",
]
ROUTE = '<img src=y onerror="window.__pwned=2">'
LIVE = '<img src=z onerror="window.__pwned=3"> live'  # arrives while the dashboard is open
ROUTES = f"""
routes:
  - name: '{ROUTE}'
    match: {{model: "/evil-.*/"}}
    route: {{model: "echo+words:3"}}
"""


@pytest.fixture(scope="module")
def hostile(e2e_dir, fake):
    routes = e2e_dir / "hostile-routes.yaml"
    routes.write_text(ROUTES)
    proc, url = start_gateway(e2e_dir, fake, ROUTES_CONFIG=str(routes), RECORD_FLUSH_SECONDS="0.05")
    create_admin(proc, PASSWORD)
    yield proc, url
    proc.stop()


def chat(url: str, model: str, content: str, stream: bool = False) -> str:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]}
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    rid = hex_id(response)
    return f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}"


def test_hostile_text_never_runs_on_any_page(hostile, figure):
    proc, url = hostile
    ids = [chat(url, text, text) for text in HOSTILE]
    ids += [chat(url, f"evil-{text}", text, stream=True) for text in HOSTILE[:2]]
    wait_until(lambda: in_progress(proc) == 0, 5)
    pages = ["/", "/performance", "/admin/recording/requestlog/", "/admin/recording/conversation/"]
    pages += ["/admin/routing/route/"] + [f"/request/{i}" for i in ids]
    pages += [f"/admin/recording/requestlog/{i}/change/" for i in ids[:3]]
    explain = "/admin/routing/route/explain/?client=127.0.0.1&model="
    pages += [explain + quote(f"evil-{text}") for text in HOSTILE[:3]]
    pwned, shown = {}, 0
    with browser_page(url) as (page, errors, outside):
        log_in(page, "admin", PASSWORD)
        page.goto("/")
        page.wait_for_selector("#live[data-state=live]")
        slow = threading.Thread(target=chat, args=(url, f"{LIVE}+words:8+delay:200", LIVE, True))
        slow.start()  # the websocket puts it in flight, then in the log, on the open page
        page.wait_for_selector("#inflight tbody tr", timeout=10_000)
        slow.join()
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=LIVE)
        pwned["/ (live)"] = page.evaluate("window.__pwned")
        for path in pages:
            page.goto(path)
            if path in ("/", "/performance"):  # filled in by script from the JSON APIs
                page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            shown += any(hostile in text for hostile in (*HOSTILE, ROUTE, LIVE))
            pwned[path] = page.evaluate("window.__pwned")
    ran = {path: value for path, value in pwned.items() if value is not None}
    results = [
        figure("pages opened (showing the text as text)", len(pwned), f"({shown})", "-", True),
        figure("pages where a script ran", len(ran), "", "= 0", not ran),
        figure("script refusals, stray loads, errors", len(errors), "", "= 0", not errors),
        figure("requests leaving the host", len(outside), "", "= 0", not outside),
    ]
    assert all(results), (ran, errors[:5], outside[:5])
    assert shown == len(pages)  # the hostile text is there, as text


ATTACK = """<!doctype html><title>elsewhere</title><script>
window.results = [];
const body = JSON.stringify({model: "echo", workflow_id: "stolen",
  messages: [{role: "user", content: "captured from another page"}]});
async function attempt(label, url, init) {
  try { const r = await fetch(url, init); window.results.push([label, r.status]); }
  catch (e) { window.results.push([label, "blocked"]); }
}
window.attack = async (gateway) => {
  await attempt("text/plain, no-cors", gateway + "/v1/chat/completions",
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
  await attempt("ollama, no-cors", gateway + "/api/chat",
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
  await attempt("cors json", gateway + "/v1/chat/completions",
    {method: "POST", headers: {"Content-Type": "application/json"}, body});
  await attempt("cors read", gateway + "/v1/models", {});
  return window.results;
};
</script>"""


def stolen(proc) -> int:
    rows = "SELECT count(*) AS n FROM recording_conversation WHERE workflow = 'stolen'"
    logs = "SELECT count(*) AS n FROM recording_requestlog WHERE workflow = 'stolen'"
    return query(proc, rows)[0]["n"] + query(proc, logs)[0]["n"]


def test_pages_elsewhere_and_rebound_names_cannot_use_the_gateway(hostile, figure):
    """A page on another origin posts as text/plain (no preflight) and tries to read; a page
    whose name was rebound to 127.0.0.1 posts to its own origin, which is the gateway."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import ARGS
    from tests.e2e.chromium import NONE_FOUND, find_chromium

    chromium = find_chromium()
    assert chromium is not None, NONE_FOUND

    proc, url = hostile
    port = url.rsplit(":", 1)[1]
    elsewhere = "http://127.0.0.1:9555/attack.html"
    rebound = f"http://rebind.test:{port}/attack.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                *ARGS,
                "--host-resolver-rules=MAP rebind.test 127.0.0.1",
                # Chromium's own guard for local addresses (other browsers have none): off,
                # so that the gateway's is what is tested.
                "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
                "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults",
            ],
        )
        page = browser.new_page()
        # The attacker's pages: served by the route, everything else goes to the network.
        for address in (elsewhere, rebound):
            page.route(address, lambda route: route.fulfill(body=ATTACK, content_type="text/html"))
        page.goto(elsewhere)
        across = page.evaluate("g => window.attack(g)", url)
        page.goto(rebound)
        rebinding = page.evaluate("g => window.attack(g)", f"http://rebind.test:{port}")
        browser.close()
    wait_until(lambda: in_progress(proc) == 0, 5)
    answered = [
        (label, status)
        for label, status in across + rebinding
        if status not in ("blocked", 0, 403)  # an opaque no-cors answer reads as status 0
    ]
    captured = stolen(proc)
    results = [
        figure("cross-origin and rebound attempts", len(across + rebinding), "", "-", True),
        figure("attempts the gateway served", len(answered), "", "= 0", not answered),
        figure("their prompts captured as training data", captured, "", "= 0", captured == 0),
    ]
    assert all(results), (across, rebinding)
    assert ["cors json", 403] in rebinding  # the rebound origin is refused by its Host
