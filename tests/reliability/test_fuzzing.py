"""Fuzzing the live gateway: schemathesis from its OpenAPI descriptions, and Hypothesis-made
bodies, headers and oversized inputs. Never a 5xx; every refusal a 4xx in its API's shape."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.e2e.procs import start_gateway
from tests.reliability.helpers import create_admin, hex_id, logged_in, row_states, wait_until

pytestmark = pytest.mark.e2e

PASSWORD = "fuzzing-password-1"
LIMIT = 65536  # MAX_REQUEST_BYTES of the fuzzed gateway
ROUTES = """
routes:  # whatever the model is called, the fake upstream answers it
  - {name: any, match: {model: "/(?s).*/"}, route: {model: echo}}
"""
SIZES = [pytest.param(50, id="50"), pytest.param(1000, id="1000", marks=pytest.mark.soak)]
FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def target(e2e_dir, fake):
    routes = e2e_dir / "fuzz-routes.yaml"
    routes.write_text(ROUTES)
    proc, url = start_gateway(
        e2e_dir, fake, ROUTES_CONFIG=str(routes), MAX_REQUEST_BYTES=str(LIMIT)
    )
    create_admin(proc, PASSWORD)
    with logged_in(url, PASSWORD) as session:
        cookie = f"sessionid={session.cookies['sessionid']}"
    yield url, cookie, proc
    proc.stop()


def problem(shape: str, status: int, text: str) -> str | None:
    """What is wrong with an answer: a 5xx, or a refusal not in the API's error shape."""
    if status >= 500:
        return f"{status}: {text[:200]}"
    if status < 400:
        return None
    try:
        error = httpx.Response(status, text=text).json().get("error")
    except (ValueError, AttributeError):
        return f"{status}, not a JSON object: {text[:200]}"
    if shape == "ollama":
        return None if isinstance(error, str) and error else f"{status}, not Ollama's: {text}"
    well_formed = isinstance(error, dict) and all(
        isinstance(error.get(k), str) and error[k] for k in ("message", "type")
    )
    return None if well_formed else f"{status}, not OpenAI's: {text[:200]}"


def report(figure, found: list[str], tried: int, answered: int) -> None:
    results = [
        figure(name, value, unit, threshold, ok)
        for name, value, unit, threshold, ok in [
            ("examples tried (answered 2xx)", tried, f"({answered})", "-", True),
            ("5xx or misshapen refusals", len(found), "", "= 0", not found),
        ]
    ]
    assert all(results), found[:5]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("spec", ["/v1/openapi.json", "/api/openapi.json"])
@pytest.mark.parametrize("examples", SIZES)
def test_schemathesis_finds_no_5xx_and_only_well_formed_refusals(
    target, figure, spec, mode, examples
):
    url, cookie, _ = target
    schema = schemathesis.openapi.from_url(url + spec)
    found, tried, answered = [], [], []

    @settings(FUZZ, max_examples=examples)
    @given(schema.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=url, headers={"Cookie": cookie}, timeout=30)
        tried.append(1)
        answered.append(response.status_code < 300)
        if issue := problem("openai", response.status_code, response.text):
            found.append(f"{case.method} {case.path} {case.body!r:.200}: {issue}")

    check()
    report(figure, found, len(tried), sum(answered))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
ROLE = st.sampled_from(["user", "assistant", "system", "tool", "wizard", ""])
MESSAGE = st.dictionaries(
    st.sampled_from(["role", "content", "images", "tool_calls", "name", "thinking"]), ROLE | JSON
)
OPTIONS = st.dictionaries(
    st.sampled_from(["temperature", "top_p", "num_predict", "stop", "seed", "top_k", "num_ctx"]),
    JSON,
)
NEAR_VALID = st.fixed_dictionaries(
    {"model": st.text(max_size=30) | JSON, "messages": st.lists(MESSAGE, max_size=3) | JSON},
    optional={
        key: JSON | st.booleans()
        for key in ("stream", "prompt", "temperature", "max_tokens", "format", "tools", "think")
    }
    | {"options": OPTIONS | JSON, "workflow_id": st.text(max_size=70) | JSON},
)
# json.dumps writes NaN and Infinity, and lone surrogates as escapes: hostile on purpose.
BODY = st.one_of(
    NEAR_VALID.map(lambda b: json.dumps(b).encode()),
    JSON.map(lambda b: json.dumps(b).encode()),
    st.binary(max_size=300),
)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "authorization",
            "x-gateway-key",
            "content-type",
            "content-encoding",
            "accept",
            "x-forwarded-for",
            "cache-control",
            "x-api-key",
            "origin",
            "host",
            "sec-fetch-site",
            "x-auth-token",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.strip),
    max_size=4,
)
PATHS = {
    "/v1/chat/completions": "openai",
    "/v1/completions": "openai",
    "/v1/responses": "openai",
    "/api/chat": "ollama",
    "/api/generate": "ollama",
}


@pytest.mark.parametrize("examples", SIZES)
def test_malformed_bodies_and_headers_are_refused_in_each_apis_shape(target, figure, examples):
    url, _, _ = target
    found, tried, answered = [], [], []

    @settings(FUZZ, max_examples=examples)
    @given(st.sampled_from(sorted(PATHS)), BODY, HEADERS)
    def check(path: str, body: bytes, headers: dict[str, str]) -> None:
        response = httpx.post(url + path, content=body, headers=headers, timeout=30)
        tried.append(1)
        answered.append(response.status_code < 300)
        if issue := problem(PATHS[path], response.status_code, response.text):
            found.append(f"{path} {headers} {body!r:.200}: {issue}")

    check()
    report(figure, found, len(tried), sum(answered))


def oversized() -> list[tuple[str, dict, object]]:
    """(path, headers, body): bodies over the limit, with and without Content-Length, nesting
    deeper than can be sent on, and a 60,000-character model name."""
    big = b'{"model": "echo", "messages": [{"role": "user", "content": "' + b"x" * LIMIT + b'"}]}'
    deep = b"[" * 20_000 + b"]" * 20_000  # deeper than the parser goes
    # Parseable, but deeper than orjson writes back, with a key at the bottom.
    nested = b'{"model": "echo", "messages": [{"role": "user", "content": "hi"}], "metadata": '
    nested += b"[" * 300 + b'{"api_key": "sk-deep-0123456789"}' + b"]" * 300 + b"}"
    named = {"model": "m" * 60_000, "messages": [{"role": "user", "content": "x"}]}
    long_model = json.dumps(named).encode()

    def chunked() -> object:
        yield big[: LIMIT // 2]
        yield big[LIMIT // 2 :]

    cases = []
    for path in PATHS:
        cases += [
            (path, {}, big),
            (path, {"transfer-encoding": "chunked"}, chunked()),
            (path, {"content-type": "application/json"}, deep),
            (path, {}, nested),
            (path, {}, long_model),
        ]
    return cases


def test_oversized_and_deeply_nested_inputs_get_a_4xx_in_each_apis_shape(target, figure):
    url, _, proc = target
    found, statuses, ids = [], [], []
    for path, headers, body in oversized():
        response = httpx.post(url + path, content=body, headers=headers, timeout=30)
        statuses.append(response.status_code)
        if "x-request-id" in response.headers:  # it reached the API: it has a row
            ids.append(hex_id(response))
        if response.status_code < 400:
            found.append(f"{path}: accepted {response.status_code}")
        elif issue := problem(PATHS[path], response.status_code, response.text):
            found.append(f"{path}: {issue}")

    def unrecorded() -> list[str]:
        states = row_states(proc)
        return [i for i in ids if states.get(i) in (None, "in_progress")]

    wait_until(lambda: not unrecorded(), 5)
    missing = unrecorded()
    seen = ", ".join(map(str, sorted(set(statuses))))
    results = [
        figure("oversized or nested bodies, long names", len(statuses), f"({seen})", "-", True),
        figure("accepted, 5xx or misshapen", len(found), "", "= 0", not found),
        figure("requests without a final row", len(missing), f"of {len(ids)}", "= 0", not missing),
    ]
    assert all(results), found[:5] + missing[:5]


def known_500s(url: str, cookie: str) -> list[tuple[str, str, str, dict, bytes]]:
    """(shape, method, path, headers, body) that once answered 500 or got through, from the
    red-team pass: each must now be a 2xx or a 4xx in its API's shape."""
    big = {"model": "echo", "messages": [{"role": "user", "content": "x" * 3 * 2**20}]}
    bad_tool = {
        "model": "echo",
        "stream": False,
        "messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": "x"}]}],
    }
    hello = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "hi"}]})
    evil = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    return [
        ("openai", "POST", "/v1/chat/completions", {}, json.dumps(big).encode()),
        ("ollama", "POST", "/api/chat", {}, json.dumps({**big, "stream": False}).encode()),
        ("ollama", "POST", "/api/chat", {}, json.dumps(bad_tool).encode()),
        ("page", "GET", "/admin/recording/requestlog/?status=abc", {"Cookie": cookie}, b""),
        ("openai", "POST", "/v1/chat/completions", {"X-Pad": "p" * 70_000}, hello.encode()),
        ("openai", "POST", "/v1/chat/completions", {"Host": "rebind.example"}, hello.encode()),
        ("openai", "POST", "/v1/chat/completions", evil, hello.encode()),
        ("ollama", "POST", "/api/chat", evil, hello.encode()),
        ("openai", "OPTIONS", "/v1/chat/completions", preflight, b""),
        ("openai", "POST", "/v1/chat/completions", {"X-Forwarded-For": "garbage"}, hello.encode()),
    ]


@pytest.fixture(scope="module")
def roomy(e2e_dir, fake):
    """A gateway with the default body limit (10 MiB), above Django's own for pages."""
    proc, url = start_gateway(e2e_dir, fake, TRUSTED_PROXIES="127.0.0.1")
    create_admin(proc, PASSWORD)
    with logged_in(url, PASSWORD) as session:
        cookie = f"sessionid={session.cookies['sessionid']}"
    yield url, cookie
    proc.stop()


def test_inputs_that_once_broke_the_gateway_are_answered_properly(roomy, figure):
    url, cookie = roomy
    found, statuses = [], []
    for shape, method, path, headers, body in known_500s(url, cookie):
        response = httpx.request(method, url + path, content=body, headers=headers, timeout=60)
        statuses.append(response.status_code)
        if shape == "page":
            issue = f"{response.status_code}" if not 400 <= response.status_code < 500 else None
        else:
            issue = problem(shape, response.status_code, response.text)
        if issue:
            found.append(f"{method} {path} {list(headers)}: {issue}")
    seen = ", ".join(map(str, sorted(set(statuses))))
    results = [
        figure("inputs that once broke it", len(statuses), f"({seen})", "-", True),
        figure("5xx or misshapen now", len(found), "", "= 0", not found),
    ]
    assert all(results), found
