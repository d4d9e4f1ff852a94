"""Finding (and getting) the browser the page tests drive, without touching the real one:
each test points the finder at its own PATH and Playwright folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import chromium
from tests.e2e.chromium import NONE_FOUND, ensure_chromium, find_chromium

ROOT = Path(__file__).resolve().parents[2]


def make_executable(path: Path, script: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)
    return path


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No browser anywhere the finder looks."""
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "playwright"))
    return tmp_path


@pytest.mark.parametrize("name", ["chromium", "chromium-browser", "google-chrome"])
def test_a_browser_on_the_path_is_found_by_any_of_its_names(nowhere, name):
    browser = make_executable(nowhere / "bin" / name)
    assert find_chromium(path=str(nowhere / "bin")) == str(browser)


def test_playwrights_own_download_is_found(nowhere):
    build = nowhere / "playwright" / "chromium-1200" / "chrome-linux64" / "chrome"
    make_executable(build)
    assert find_chromium(path="") == str(build)


def test_chromium_path_wins(nowhere, monkeypatch):
    chosen = make_executable(nowhere / "elsewhere" / "my-chrome")
    make_executable(nowhere / "bin" / "chromium")
    monkeypatch.setenv("CHROMIUM_PATH", str(chosen))
    assert find_chromium(path=str(nowhere / "bin")) == str(chosen)


def test_an_empty_path_finds_nothing(nowhere):
    assert find_chromium(path="") is None


def test_as_root_debians_chromium_is_installed_with_apt(nowhere, monkeypatch):
    bin_dir = nowhere / "bin"
    calls = nowhere / "apt-calls"
    # A stand-in apt-get: notes its arguments, and "installs" chromium beside itself.
    make_executable(
        bin_dir / "apt-get",
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        f'[ "$1" = install ] && printf "#!/bin/sh\\n" > {bin_dir}/chromium '
        f"&& chmod +x {bin_dir}/chromium\nexit 0\n",
    )
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(chromium, "install_with_playwright", lambda: pytest.fail("not needed"))
    assert ensure_chromium(path=str(bin_dir)) == str(bin_dir / "chromium")
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]


def test_without_root_apt_is_left_alone_and_playwright_downloads(nowhere, monkeypatch):
    make_executable(nowhere / "bin" / "apt-get", "#!/bin/sh\nexit 99\n")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    build = nowhere / "playwright" / "chromium-1200" / "chrome-linux" / "chrome"
    monkeypatch.setattr(chromium, "install_with_playwright", lambda: bool(make_executable(build)))
    assert ensure_chromium(path=str(nowhere / "bin")) == str(build)


def test_when_nothing_can_be_found_or_installed_make_test_stops_with_one_clear_line(nowhere):
    with socket.socket() as sock:  # a port nobody listens on: Playwright's download fails
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = {
        "PATH": "",  # no browser and no apt-get on it
        "HOME": str(nowhere),
        "PLAYWRIGHT_BROWSERS_PATH": str(nowhere / "playwright"),
        "PLAYWRIGHT_DOWNLOAD_HOST": f"http://127.0.0.1:{closed}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.chromium", "--install"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == NONE_FOUND
    assert "Traceback" not in result.stderr
