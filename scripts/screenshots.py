"""Regenerate docs/screenshots/*.png: a gateway with a week of generated traffic, in Chromium.

make screenshots
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.browser import browser_page, log_in  # noqa: E402
from tests.e2e.procs import start_fake, start_gateway  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "screenshots-password-1"


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )


def chat(url: str, model: str, content: str) -> None:
    httpx.post(
        f"{url}/v1/chat/completions",
        timeout=60,
        json={"model": model, "stream": True, "messages": [{"role": "user", "content": content}]},
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fake, fake_url = start_fake(work)
        gateway, url = start_gateway(work, fake_url)
        try:
            manage(gateway.env, "generate_logs", "--count", "20000", "--days", "2")
            manage(
                {**gateway.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
                "createsuperuser",
                "--noinput",
                "--username",
                "admin",
                "--email",
                "admin@example.com",
            )
            for model in ("echo+words:40", "echo+think+words:20"):
                chat(url, model, "Write a haiku about gateways.")
            slow = threading.Thread(
                target=chat, args=(url, "echo+words:80+delay:100", "Tell me a long story.")
            )
            with browser_page(url) as (page, errors, _):
                log_in(page, "admin", PASSWORD)
                page.set_viewport_size({"width": 1400, "height": 900})
                page.goto("/")
                page.wait_for_selector("#live[data-state=live]")
                slow.start()
                page.wait_for_selector("#inflight tbody tr")
                page.wait_for_timeout(1500)
                page.screenshot(path=str(OUT / "dashboard.png"))
                page.locator("#log tbody tr a").first.click()
                page.wait_for_url("**/request/*")
                page.screenshot(path=str(OUT / "request.png"), full_page=True)
                page.goto("/performance")
                page.wait_for_timeout(1000)
                page.screenshot(path=str(OUT / "performance.png"), full_page=True)
                slow.join()
                if errors:
                    raise SystemExit(f"page errors: {errors}")
        finally:
            gateway.stop()
            fake.stop()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()
