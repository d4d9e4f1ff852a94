"""Session-wide real processes: two fake upstreams and a gateway with a routes file."""

from __future__ import annotations

import json

import pytest

from tests.e2e.procs import free_port, start_fake, start_gateway

ROUTES = """
upstreams:
  - {name: second, url: "SECOND"}
  - {name: dead, url: "DEAD"}
  - {name: limited, url: "SECOND"}
routes:
  # a 429 with Retry-After rests its upstream: keep that from the default one
  - {name: limited, match: {model: "/^status:429/"}, route: {upstream: limited}}
  - {name: dead-upstream, match: {model: dead-model}, route: {upstream: dead}}
  - {name: wrong-network, match: {model: addr-test, source_host: 10.0.0.0/8},
     route: {upstream: dead}}
  - {name: loopback, match: {model: addr-test, source_host: 127.0.0.0/8},
     route: {upstream: second, model: echo}}
  - {name: sized, match: {model: "/^alias-(\\\\d+)/"}, route: {model: "echo+chunk:\\\\1"}}
  - {name: first, match: {model: first-wins}, route: {upstream: second, model: echo}}
  - {name: shadowed, match: {model: first-wins}, route: {upstream: dead}}
  - {name: route-beats-map, match: {model: route-vs-map}, route: {model: "echo+words:2"}}
  - {name: routed-no-rewrite, match: {model: map-exact}, route: {upstream: second}}
  - {name: fenced, match: {model: "/^fenced(.*)/"},
     route: {model: "echo+fence\\\\1", strip_json_markdown: true}}
  - {name: no-think, match: {model: no-think}, route: {model: inspect, disable_thinking: true}}
  - {name: keep-think, match: {model: keep-think}, route: {model: echo, strip_thinking: false}}
  - {name: reasoning, match: {model: "/^reasoning(.*)/"},
     route: {model: "echo\\\\1", strip_thinking: reasoning}}
"""

MODEL_MAP = {
    "/map-(.*)/": "echo+chunk:\\1",
    "map-exact": "echo+words:3",
    "route-vs-map": "echo+words:5",
}


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def fake(e2e_dir):
    proc, url = start_fake(e2e_dir, "main")
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def second_fake(e2e_dir):
    proc, url = start_fake(e2e_dir, "second")
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def gateway_proc(e2e_dir, fake, second_fake):
    routes = e2e_dir / "routes.yaml"
    dead = f"http://127.0.0.1:{free_port()}"
    routes.write_text(ROUTES.replace("SECOND", second_fake).replace("DEAD", dead))
    ollama_port = free_port()
    proc, url = start_gateway(
        e2e_dir,
        fake,
        ROUTES_CONFIG=str(routes),
        MODEL_MAP=json.dumps(MODEL_MAP),
        REQUEST_TIMEOUT="2",
        OLLAMA_PORT=str(ollama_port),
        OLLAMA_UPSTREAM_URL=dead,
        RECORD_FLUSH_SECONDS="0.05",
    )
    proc.ollama_url = f"http://127.0.0.1:{ollama_port}"
    yield proc, url
    proc.stop()


@pytest.fixture(scope="session")
def gateway_url(gateway_proc):
    return gateway_proc[1]


@pytest.fixture
def client(gateway_url):
    import openai

    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="sk-test", max_retries=0)


@pytest.fixture(scope="session")
def ollama_url(gateway_proc):
    return gateway_proc[0].ollama_url


@pytest.fixture
def ollama_client(ollama_url):
    import ollama

    return ollama.Client(host=ollama_url)
