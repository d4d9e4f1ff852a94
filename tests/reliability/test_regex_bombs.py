"""Catastrophic regexes in a routes file and in the admin: RE2 either refuses them with a
clear message or matches them in linear time, so a long adversarial model name is answered
promptly and other clients do not wait behind it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.procs import ROOT, start_gateway
from tests.reliability.helpers import USER, create_admin, logged_in, wait_until

pytestmark = pytest.mark.e2e

PASSWORD = "regex-password-1"
TIMEOUT = 10  # REQUEST_TIMEOUT of this gateway: the pass mark for every answer
FILE_BOMBS = ["/(a+)+$/", "/(a|aa)+$/", "/(.*a){20}/"]
ADMIN_BOMBS = ["/(x+x+)+y/", "/(.*a){200}/", "/(.*){1000}/"]  # the last matches anything
UNRUNNABLE = ["/(a+)\\1/", "/(?=a)a/", "/((((.*){100}){100}){100})/"]
NAMES = {  # the names that make every pattern above work hardest
    "50,000 a's and !": "a" * 50_000 + "!",
    "255 a's and !": "a" * 255 + "!",
    "256 a's": "a" * 256,
}
ADMIN_ROUTE = {
    "name": "bomb",
    "enabled": "on",
    "match_source": "",
    "rewrite_model": "echo+words:2",
    "strip_thinking": "",
    "disable_thinking": "unknown",
    "strip_json_markdown": "unknown",
    "strategy": "fallback",
    "cache": "unknown",
    "targets-TOTAL_FORMS": "0",
    "targets-INITIAL_FORMS": "0",
}


@pytest.fixture(scope="module")
def bombed(e2e_dir, fake):
    routes = e2e_dir / "bomb-routes.yaml"
    lines = [f'  - {{match: {{model: "{p}"}}, route: {{model: echo}}}}' for p in FILE_BOMBS]
    routes.write_text("routes:\n" + "\n".join(lines) + "\n")
    proc, url = start_gateway(e2e_dir, fake, ROUTES_CONFIG=str(routes), REQUEST_TIMEOUT="10")
    create_admin(proc, PASSWORD)
    with logged_in(url, PASSWORD) as session:
        saved = {p: add_route(session, p, 100 + i) for i, p in enumerate(ADMIN_BOMBS + UNRUNNABLE)}
        yield proc, url, session, saved
    proc.stop()


def add_route(session: httpx.Client, pattern: str, position: int) -> str:
    """'saved', or the admin's error message."""
    session.get("/admin/routing/route/add/")
    data = {**ADMIN_ROUTE, "position": position, "match_model": pattern}
    data["csrfmiddlewaretoken"] = session.cookies["csrftoken"]
    response = session.post("/admin/routing/route/add/", data=data)
    if response.status_code == 302:
        return "saved"
    errors = response.text.split('class="errorlist')[1:]
    return errors[0].split("<li>")[1].split("</li>")[0] if errors else response.text[:200]


def ask(url: str, model: str, ollama: bool = False) -> tuple[int, float]:
    path = "/api/chat" if ollama else "/v1/chat/completions"
    started = time.monotonic()
    body = {"model": model, "messages": USER, "stream": False}
    response = httpx.post(url + path, json=body, timeout=TIMEOUT + 20)
    return response.status_code, time.monotonic() - started


def test_patterns_re2_cannot_run_in_linear_time_are_refused_with_a_clear_message(
    bombed, figure, tmp_path
):
    _, _, _, saved = bombed
    refused_in_admin = {p: saved[p] for p in UNRUNNABLE if "invalid regex" in saved[p]}
    bad_file = tmp_path / "bad-routes.yaml"
    bad_file.write_text(
        "routes:\n" + "".join(f"  - {{match: {{model: '{p}'}}}}\n" for p in UNRUNNABLE)
    )
    imported = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_routes", str(bad_file)],
        env=bombed[0].env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    places = [f"routes[{i}].match.model: invalid regex" for i in range(len(UNRUNNABLE))]
    named = sum(place in imported.stdout + imported.stderr for place in places)
    named = named if imported.returncode != 0 else 0
    accepted = sum(saved[p] == "saved" for p in ADMIN_BOMBS) + len(FILE_BOMBS)
    n = len(UNRUNNABLE)
    results = [
        figure(name, value, unit, threshold, ok)
        for name, value, unit, threshold, ok in [
            (
                "refused in the admin, with the reason",
                len(refused_in_admin),
                f"of {n}",
                f"= {n}",
                len(refused_in_admin) == n,
            ),
            ("refused in a routes file, with the place", named, f"of {n}", f"= {n}", named == n),
            ("catastrophic patterns accepted (RE2 runs them)", accepted, "", "-", True),
        ]
    ]
    assert all(results), (saved, imported.stdout, imported.stderr)


@pytest.mark.parametrize(
    "requests", [pytest.param(10, id="10"), pytest.param(200, id="200", marks=pytest.mark.soak)]
)
def test_a_long_adversarial_model_name_is_answered_promptly(bombed, figure, requests):
    _, url, session, saved = bombed
    assert all(saved[p] == "saved" for p in ADMIN_BOMBS), saved
    assert wait_until(lambda: ask(url, "xxy")[0] == 200 and "w0 w1" in chat_text(url, "xxy"), 5)
    slowest = {name: max(ask(url, m)[1], ask(url, m, ollama=True)[1]) for name, m in NAMES.items()}
    statuses = {name: ask(url, m)[0] for name, m in NAMES.items()}

    bystander, stop = [], threading.Event()

    def stand_by() -> None:
        while not stop.is_set():
            bystander.append(ask(url, "echo")[1])

    watcher = threading.Thread(target=stand_by)
    watcher.start()
    with ThreadPoolExecutor(10) as pool:
        burst = list(pool.map(lambda i: ask(url, NAMES["256 a's"], i % 2 == 1), range(requests)))
    stop.set()
    watcher.join()
    started = time.monotonic()
    explained = session.get(
        "/admin/routing/route/explain/", params={"model": "a" * 299 + "!", "client": "127.0.0.1"}
    )
    explain_s = time.monotonic() - started

    burst_s = max(t for _, t in burst)
    meanwhile = max(bystander, default=0)
    bound = f"< {TIMEOUT * 1000} (the request timeout)"
    answers = [(f"answer to {n} (status {statuses[n]})", t) for n, t in slowest.items()]
    results = [
        figure(name, seconds * 1000, "ms", bound, seconds < TIMEOUT and ok)
        for name, seconds, ok in [
            *((name, t, True) for name, t in answers),
            (f"slowest of {requests} matching names at once", burst_s, True),
            ("slowest plain request meanwhile", meanwhile, True),
            ("admin explain page, 300 characters", explain_s, explained.status_code == 200),
        ]
    ]
    assert all(results)
    assert all(status < 500 for status, _ in burst)


def chat_text(url: str, model: str) -> str:
    body = {"model": model, "messages": USER}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).text


HOSTILE_TO_REDACTION = {
    "an escaped secret pair that never closes": '\\"api_key\\": \\"' + "x" * 500_000,
    "a password followed by 200,000 escaped quotes": '"password": "' + '\\"' * 200_000,
    "100,000 token= in a row": "token=" * 100_000,
    "40,000 unclosed secret objects": '{"secret": ' * 40_000,
    "a name of 60 letters then key, 10,000 times": ('"' + "a" * 60 + "key" + '" ') * 10_000,
}


def test_redacting_hostile_text_stays_linear(figure):
    """The redaction runs on whatever a client sends (on the writer's thread, and on a
    failure's path): no input makes its patterns backtrack."""
    from routing.core.redaction import redact_body, redact_text

    results = []
    for name, text in HOSTILE_TO_REDACTION.items():
        started = time.monotonic()
        redact_text(text, ["sk-known-0123456789"])
        redact_body(text.encode(), [])
        seconds = time.monotonic() - started
        results.append(figure(name, seconds * 1000, "ms", "< 2000", seconds < 2))
    assert all(results)
