"""Playwright driving Chromium (found by tests/e2e/chromium.py), with nothing allowed to
leave the host."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from tests.e2e.chromium import NONE_FOUND, find_chromium

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def browser_page(base_url: str) -> Iterator[tuple[object, list[str], list[str]]]:
    """A page, the problems seen (page errors, failed loads), and requests that tried to
    leave the host."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    outside: list[str] = []
    host = urlsplit(base_url).hostname
    chromium = find_chromium()
    if chromium is None:  # `make test` installs one first: a failure, never a skip
        raise RuntimeError(NONE_FOUND)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(base_url=base_url)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Content-Security-Policy refusals and failed loads are reported on the console.
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))

        def guard(route) -> None:
            if urlsplit(route.request.url).hostname in (host, "localhost", "127.0.0.1"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        try:
            yield page, errors, outside
        finally:
            browser.close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
