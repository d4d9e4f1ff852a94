"""Canary keys sent every way a key can travel are found nowhere the gateway writes or shows:
database (every table and column, and the raw file), data directory, exports, server
output, pages, JSON APIs and the dashboard's websocket.

tests/e2e/test_recording.py::test_secrets_appear_nowhere covers one key in one request;
this covers the upstream's own key, header and body fields, streams, the Ollama API, an
upstream that reflects what it received, and every place a person can look."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import zlib
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.procs import start_gateway
from tests.reliability.helpers import (
    create_admin,
    database,
    hex_id,
    logged_in,
    manage,
    query,
    wait_until,
)

pytestmark = pytest.mark.e2e

PASSWORD = "secrets-password-1"
CLIENT = "sk-canary-client-4f0a1b2c3d"  # Authorization: Bearer …
HEADER = "canary-x-api-key-5e6f7a8b9c"  # X-Api-Key
BODY = "canary-body-api-key-0d1e2f3a4b"  # {"api_key": …}
NESTED = "canary-nested-token-5c6d7e8f"  # {"metadata": {"token": …}}
UPSTREAM = "sk-canary-upstream-9a8b7c6d5e"  # the routes file's api_key for an upstream
# The ways in a red-team pass found open: other header and field names, a key inside
# tool-call arguments, a gateway key in the body, a number, a password in broken JSON.
MORE = {
    "X-Auth-Token": "canary-x-auth-token-1a2b3c",
    "X-Goog-Api-Key": "canary-x-goog-api-key-4d5e6f",
    "secret_key": "canary-secret-key-field-7a8b9c",
    "api_token": "canary-api-token-field-0d1e2f",
    "openai_api_key": "canary-openai-api-key-3a4b5c",
    "tool arguments": "canary-tool-arguments-6d7e8f",
    "gateway key": "llmp_" + "CanaryGatewayKeyInTheBody0123456789abcdefg",
    "number": "918273645546",
    "broken json": "canary-broken-json-password-9z8y",
}
CLIENT_CANARIES = (CLIENT, HEADER, BODY, NESTED, *MORE.values())
ROUTES = """
upstreams:
  - {name: keyed, url: "FAKE", api_key: "KEY"}
routes:
  - {name: keyed, match: {model: keyed}, route: {upstream: keyed, model: inspect}}
  - {name: echoing, match: {model: keyed-error},
     route: {upstream: keyed, model: "inspect+status:500"}}
"""


@pytest.fixture(scope="module")
def keyed(e2e_dir, fake):
    routes = e2e_dir / "secrets-routes.yaml"
    routes.write_text(ROUTES.replace("FAKE", fake).replace("KEY", UPSTREAM))
    proc, url = start_gateway(
        e2e_dir, fake, "--verbose", ROUTES_CONFIG=str(routes), RECORD_FLUSH_SECONDS="0.05"
    )
    create_admin(proc, PASSWORD)
    yield proc, url
    proc.stop()


def send_canaries(url: str) -> list[str]:
    """Every way in: both APIs, whole and streamed, to an upstream that reflects the request
    (inspect) with the client's key, and with the upstream's own key."""
    headers = {"Authorization": f"Bearer {CLIENT}", "X-Api-Key": HEADER}
    extra = {"api_key": BODY, "metadata": {"token": NESTED}}
    ids = []
    for model in ("inspect", "keyed"):
        for stream in (False, True):
            for path in ("/v1/chat/completions", "/api/chat"):
                messages = [{"role": "user", "content": f"{model} {stream} {path}"}]
                body = {"model": model, "stream": stream, "messages": messages, **extra}
                response = httpx.post(url + path, json=body, headers=headers, timeout=30)
                assert response.status_code == 200, response.text
                ids.append(hex_id(response))
    return ids


def send_the_missed_ways(url: str) -> list[str]:
    """The ways the first redaction missed, and an upstream echoing its key in an error."""
    arguments = json.dumps({"city": "Paris", "api_key": MORE["tool arguments"]})
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    body = {
        "model": "inspect",
        "secret_key": MORE["secret_key"],
        "api_token": MORE["api_token"],
        "metadata": {"openai_api_key": MORE["openai_api_key"], "pin_password": int(MORE["number"])},
        "user": f"pasted {MORE['gateway key']}",
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
    }
    headers = {name: MORE[name] for name in ("X-Auth-Token", "X-Goog-Api-Key")}
    answers = [
        httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30),
        httpx.post(
            f"{url}/v1/chat/completions",
            content=b'{"model": "echo", "password": "' + MORE["broken json"].encode() + b'", ',
            timeout=30,
        ),
        httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "keyed-error", "messages": [{"role": "user", "content": "x"}]},
            timeout=30,
        ),
    ]
    assert [a.status_code for a in answers] == [200, 400, 500], [a.text for a in answers]
    assert UPSTREAM not in answers[2].text  # an upstream's echo never reaches the client
    return [hex_id(a) for a in answers]


def watch_websocket(url: str, cookie: str, frames: list[str], stop: threading.Event) -> None:
    ws = url.replace("http://", "ws://") + "/ws/dashboard/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": url}
    with connect(ws, additional_headers=headers, open_timeout=5) as socket:
        while not stop.is_set():
            try:
                frames.append(str(socket.recv(timeout=0.2)))
            except TimeoutError:
                continue


def database_text(proc) -> dict[str, str]:
    """Every column of every table (compressed blobs unpacked), as text, by table.column."""
    found: dict[str, str] = {}
    with sqlite3.connect(f"file:{database(proc)}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    key = f"{table}.{column}"
                    found[key] = found.get(key, "") + "\n" + as_text(value)
    return found


def as_text(value: object) -> str:
    if not isinstance(value, bytes):
        return str(value)
    with contextlib.suppress(zlib.error):  # else stored as is
        value = zlib.decompress(value)
    return value.decode("utf-8", "replace")


def pages(session: httpx.Client, ids: list[str]) -> dict[str, str]:
    """What a logged-in person can open: dashboard, request pages, admin, JSON APIs."""
    uuid = [f"{i[:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:]}" for i in ids]
    upstream_ids = [u["id"] for u in query_upstreams(session)]
    paths = ["/", "/performance", "/admin/recording/requestlog/", "/admin/recording/conversation/"]
    paths += ["/admin/routing/upstream/", "/api/logs", "/api/inflight", "/api/upstreams"]
    paths += ["/api/stats", "/metrics", "/v1/models"]
    paths += [f"/request/{u}" for u in uuid] + [f"/api/logs/{u}" for u in uuid]
    paths += [f"/admin/recording/requestlog/{u}/change/" for u in uuid]
    paths += [f"/admin/routing/upstream/{i}/change/" for i in upstream_ids]
    conversations = session.get("/api/logs", params={"limit": 200}).json()["data"]
    assert len(conversations) >= len(ids)
    found = {}
    for path in paths:
        response = session.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found[path] = response.text
    return found


def query_upstreams(session: httpx.Client) -> list[dict]:
    """The upstreams' admin ids, read from the admin's list page links."""
    text = session.get("/admin/routing/upstream/").text
    ids = sorted({part.split("/")[0] for part in text.split("/admin/routing/upstream/")[1:]})
    return [{"id": i} for i in ids if i.isdigit()]


def test_canary_keys_are_found_nowhere(keyed, figure, tmp_path):
    proc, url = keyed
    with logged_in(url, PASSWORD) as session:
        frames, stop = [], threading.Event()
        watcher = threading.Thread(
            target=watch_websocket, args=(url, session.cookies["sessionid"], frames, stop)
        )
        watcher.start()
        try:
            ids = send_canaries(url) + send_the_missed_ways(url)
            done = "SELECT count(*) AS n FROM recording_requestlog WHERE state != 'in_progress'"
            wait_until(lambda: query(proc, done)[0]["n"] >= len(ids), 10)
            wait_until(lambda: sum(f.count('"finished"') for f in frames) >= len(ids), 10)
        finally:
            stop.set()
            watcher.join(10)
        places = {f"page {p}": text for p, text in pages(session, ids).items()}

    manage(proc, "export_chatml", "--out", str(tmp_path / "chatml"))
    exported = {str(p): p.read_text() for p in (tmp_path / "chatml").rglob("*") if p.is_file()}
    assert exported, "export_chatml wrote nothing"
    places |= {f"export {p}": text for p, text in exported.items()}
    places["export_routes"] = manage(proc, "export_routes")
    places["export_routes --format json"] = manage(proc, "export_routes", "--format", "json")
    places["server output"] = proc.output()
    places["websocket frames"] = "\n".join(frames)
    assert frames, "the websocket saw nothing"
    for column, text in database_text(proc).items():  # the upstream's key too: encrypted
        places[f"database {column}"] = text
    data = Path(proc.env["DATA_DIR"])
    raw = {f"file {p.name}": p.read_bytes() for p in data.rglob("*") if p.is_file()}

    leaks = [
        f"{canary} in {place}"
        for place, text in places.items()
        for canary in (*CLIENT_CANARIES, UPSTREAM)
        if canary in text
    ]
    leaks += [
        f"{canary} in {name}"
        for name, content in raw.items()
        for canary in (*CLIENT_CANARIES, UPSTREAM)
        if canary.encode() in content
    ]
    checked = len(places) + len(raw)
    results = [
        figure("places searched", checked, "", "-", True),
        figure("canaries found", len(leaks), "", "= 0", not leaks),
    ]
    assert "[redacted]" in json.dumps(places)
    assert all(results), "\n".join(leaks)
