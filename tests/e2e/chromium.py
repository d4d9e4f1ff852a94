"""The Chromium that the browser tests drive: where it is, and getting one when there is none.

    python -m tests.e2e.chromium            # print its path, or say there is none (exit 1)
    python -m tests.e2e.chromium --install  # get one first when there is none (`make test`)

Looked for in this order: CHROMIUM_PATH; chromium, chromium-browser, google-chrome and
google-chrome-stable on PATH; Playwright's own download (PLAYWRIGHT_BROWSERS_PATH, else
~/.cache/ms-playwright). Installed when none is found: Debian's `chromium` with apt-get when
running as root, else Playwright's download of its Chromium. When neither works, one line
says what to do and the exit status is 1: the browser tests are never skipped.

Standard library only: it runs before anything else is set up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Playwright keeps each browser in a folder named for it and its build.
PLAYWRIGHT_BUILDS = (
    "chromium-*/chrome-linux*/chrome",
    "chromium_headless_shell-*/chrome-*/headless_shell",
)
NONE_FOUND = (
    "No Chromium for the browser tests: install Debian's chromium (apt-get install chromium), "
    "or run `.venv/bin/python -m playwright install chromium`, or set CHROMIUM_PATH."
)


def executable(path: str | Path) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def playwright_root() -> Path:
    custom = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    return Path(custom) if custom else Path.home() / ".cache" / "ms-playwright"


def find_chromium(path: str | None = None) -> str | None:
    """The browser's executable, or None; `path` replaces PATH for the search."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit and executable(explicit):
        return explicit
    for name in NAMES:
        if found := shutil.which(name, path=path):
            return found
    root = playwright_root()
    for pattern in PLAYWRIGHT_BUILDS:
        for candidate in sorted(root.glob(pattern), reverse=True):  # the newest build first
            if executable(candidate):
                return str(candidate)
    return None


def install_with_apt(path: str | None = None) -> bool:
    """Debian's chromium, when apt-get is there and we are root."""
    apt = shutil.which("apt-get", path=path)
    if apt is None or os.geteuid() != 0:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("Installing Debian's chromium for the browser tests (apt-get)…", file=sys.stderr)
    for args in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
        if subprocess.run([apt, *args], env=env, stdout=subprocess.DEVNULL).returncode != 0:
            return False
    return True


def install_with_playwright() -> bool:
    """Playwright's own build of Chromium, into its cache."""
    print("Downloading Playwright's Chromium for the browser tests…", file=sys.stderr)
    command = [sys.executable, "-m", "playwright", "install", "chromium"]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:  # its last line says why (no network, no disk space…)
        lines = done.stderr.strip().splitlines()
        print(
            f"Playwright's download failed: {lines[0] if lines else done.returncode}",
            file=sys.stderr,
        )
    return done.returncode == 0


def ensure_chromium(path: str | None = None) -> str | None:
    """A browser's path, installing one first when none is found; None when that failed."""
    if found := find_chromium(path):
        return found
    if install_with_apt(path) and (found := find_chromium(path)):
        return found
    if install_with_playwright() and (found := find_chromium(path)):
        return found
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="get one when there is none")
    args = parser.parse_args(argv)
    found = ensure_chromium() if args.install else find_chromium()
    if found is None:
        print(NONE_FOUND, file=sys.stderr)
        return 1
    print(f"Chromium for the browser tests: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
