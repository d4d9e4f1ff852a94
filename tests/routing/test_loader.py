"""MODEL_MAP and the routes file are loaded into the tables, replacing their own rows only."""

from __future__ import annotations

import pytest

from routing.config.current import build_rules
from routing.config.loader import apply_config, apply_model_map, read_config_file
from routing.models import ConfigVersion, ModelMapping, Route, Source, Upstream
from routing.rules.routes_file import ConfigFileError, load_text, parse_config

ROUTES_YAML = """
upstreams:
  - name: gpu
    url: http://gpu:8000/v1
    api_key: sk-gpu
routes:
  - match: {model: "/.*-1.5b/"}
    route: {upstream: gpu}
  - match: {source_host: "10.0.1.100"}
    route: {upstream: "http://dev-server:8000"}
  - match: {model: gpt-4}
    route: {upstream: "http://claude-server:8000", model: claude-3-opus, strip_thinking: false}
model_map:
  gpt-3.5-turbo: llama3-8b
"""

pytestmark = pytest.mark.django_db


def write(tmp_path, text: str, name: str = "routes.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_routes_file_becomes_rows_and_rules(tmp_path):
    apply_config(read_config_file(write(tmp_path, ROUTES_YAML)))
    rules = build_rules()
    assert [r.upstream.name if r.upstream else None for r in rules.routes] == [
        "gpu",
        "dev-server:8000",
        "claude-server:8000",
    ]
    assert rules.routes[0].upstream.base_url == "http://gpu:8000"
    assert rules.routes[2].rewrite == "claude-3-opus"
    assert rules.routes[2].think == "keep"
    assert dict(rules.exact_map) == {"gpt-3.5-turbo": "llama3-8b"}


def test_loading_the_same_file_twice_changes_nothing(tmp_path, django_capture_on_commit_callbacks):
    config = read_config_file(write(tmp_path, ROUTES_YAML))
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_config(config) is True
    ids = list(Route.objects.values_list("pk", flat=True))
    version = ConfigVersion.objects.get().version
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_config(config) is False
    assert list(Route.objects.values_list("pk", flat=True)) == ids
    assert ConfigVersion.objects.get().version == version


def test_a_new_file_replaces_file_rows_and_leaves_admin_rows(tmp_path):
    admin_route = Route.objects.create(match_model="mine", position=5)
    apply_config(read_config_file(write(tmp_path, ROUTES_YAML)))
    apply_config(parse_config({"routes": [{"match": {"model": "only"}, "route": {}}]}))
    assert set(Route.objects.values_list("match_model", flat=True)) == {"mine", "only"}
    assert Route.objects.filter(pk=admin_route.pk, source=Source.ADMIN).exists()
    assert not Upstream.objects.filter(name="dev-server:8000").exists()


def test_model_map_rows_are_replaced_on_change():
    apply_model_map({"a": "b", "/c(.*)/": r"d\1"})
    apply_model_map({"x": "y"})
    assert list(ModelMapping.objects.values_list("pattern", "replacement")) == [("x", "y")]


def test_json_files_load_too(tmp_path):
    path = write(
        tmp_path, '{"routes": [{"match": {"model": "m"}, "route": {"model": "n"}}]}', "routes.json"
    )
    apply_config(read_config_file(path))
    assert Route.objects.get().rewrite_model == "n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("routes: [{match: {model: '/(/'}}]", "routes[0].match.model: invalid regex"),
        ("routes: [{match: {source_host: 'nope'}}]", "routes[0].match.source_host"),
        ("routes: [{match: {model: '/(a)/'}, route: {model: 'x\\\\2'}}]", "routes[0].route.model"),
        ("routes: [{mtch: {}}]", "routes[0].mtch: unknown key"),
        ("upstreams: [{name: u, url: 'ftp://x'}]", "upstreams[0].url"),
        ("routes: {}", "routes: expected a list"),
        ("routes: [\n", "cannot be parsed"),
    ],
)
def test_bad_files_are_refused_with_every_problem_located(tmp_path, text, fragment):
    with pytest.raises(ConfigFileError) as caught:
        parse_config(load_text(text, "routes.yaml"), "routes.yaml")
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_an_unknown_upstream_name_is_refused_and_nothing_is_half_loaded(tmp_path):
    text = "routes: [{match: {model: a}}, {match: {model: b}, route: {upstream: nowhere}}]"
    with pytest.raises(ConfigFileError) as caught:
        apply_config(parse_config(load_text(text)))
    assert "routes[1].route.upstream: no upstream is named 'nowhere'" in caught.value.problems
    assert not Route.objects.exists()


def test_an_upstream_says_which_api_it_speaks_natively(tmp_path):
    text = """
upstreams:
  - {name: claude, url: "https://claude.test", api: anthropic}
  - {name: local, url: "http://local:8000"}
routes:
  - match: {model: "/claude-.*/"}
    route: {upstream: claude}
"""
    apply_config(read_config_file(write(tmp_path, text)))
    assert dict(Upstream.objects.values_list("name", "api")) == {
        "claude": "anthropic",
        "local": "openai",
    }
    assert build_rules().routes[0].upstream.api == "anthropic"


def test_an_unknown_upstream_api_is_refused_with_its_place():
    data = load_text('upstreams: [{name: x, url: "http://x:1", api: grpc}]')
    with pytest.raises(ConfigFileError) as refused:
        parse_config(data)
    assert "upstreams[0].api" in str(refused.value)
