"""Arize Phoenix as a real trace receiver for the end-to-end tests: installed once into its
own environment under .bench/ (it brings hundreds of packages the gateway does not need),
started on free ports, read back through its REST API."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.procs import ROOT, free_port

VERSION = "20.26.1"
HOME = ROOT / ".bench" / "phoenix"


def phoenix_binary() -> Path:
    binary = HOME / "bin" / "phoenix"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HOME)], check=True)
        subprocess.run(
            [str(HOME / "bin" / "pip"), "install", "-q", f"arize-phoenix=={VERSION}"],
            check=True,
            timeout=1200,
        )
    return binary


class Phoenix:
    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(work),
            "PHOENIX_WORKING_DIR": str(work),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self.log = (work / "phoenix.log").open("wb")
        self.proc = subprocess.Popen(
            [str(phoenix_binary()), "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (work / "phoenix.log").read_text()
            try:
                if httpx.get(f"{self.url}/v1/projects", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError("Phoenix did not start in 120 s")

    def spans(self, project: str) -> list[dict]:
        found, cursor = [], None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = httpx.get(f"{self.url}/v1/projects/{project}/spans", params=params)
            if response.status_code == 404:
                return []
            page = response.json()
            found += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
