"""import_routes and export_routes: round trips, idempotence, all-or-nothing refusals."""

from __future__ import annotations

import sys
from io import StringIO

import pytest
import yaml
from django.core.management import call_command

from routing.models import ModelMapping, Route, Source, Upstream

pytestmark = pytest.mark.django_db

CONFIG = """
upstreams:
- name: gpu
  url: http://gpu:8000
  timeout: 120.0
  max_concurrency: 4
- name: cloud
  url: https://api.example.com
  api_key: sk-import-secret
routes:
- name: small models
  match:
    model: /.*-1.5b/
  route:
    upstream: gpu
- match:
    source_host: 10.0.1.0/24
    model: gpt-4
  route:
    upstream: cloud
    model: gpt-4o
    strip_thinking: reasoning
    strip_json_markdown: true
  enabled: false
- name: qwen everywhere
  match:
    model: qwen
  route:
    strategy: weighted
    targets:
    - upstream: gpu
      weight: 3.0
    - upstream: cloud
      model: qwen-max
model_map:
  gpt-3.5-turbo: llama3-8b
  /claude-(.*)/: llama-\\1
"""


def export(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        call_command("export_routes", *args, stdout=out)
    finally:
        sys.stderr = old
    return out.getvalue(), err.getvalue()


def test_import_then_export_gives_the_same_configuration(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(CONFIG)
    call_command("import_routes", str(path), stdout=StringIO())
    text, _ = export("--with-secrets")
    assert yaml.safe_load(text) == yaml.safe_load(CONFIG)
    assert "sk-import-secret" not in export()[0]
    assert "API key left out" in export()[1]
    again = tmp_path / "again.json"
    again.write_text(export("--format", "json", "--with-secrets")[0])
    call_command("import_routes", str(again), stdout=StringIO())
    assert yaml.safe_load(export("--with-secrets")[0]) == yaml.safe_load(CONFIG)


def test_importing_twice_changes_nothing(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(CONFIG)
    call_command("import_routes", str(path), stdout=StringIO())
    ids = list(Route.objects.values_list("pk", flat=True))
    out = StringIO()
    call_command("import_routes", str(path), stdout=out)
    assert out.getvalue().startswith("Unchanged: 3 routes, 2 upstreams, 2 mappings")
    assert list(Route.objects.values_list("pk", flat=True)) == ids


def test_import_leaves_admin_rows_alone(tmp_path):
    Route.objects.create(match_model="mine", source=Source.ADMIN)
    path = tmp_path / "routes.yaml"
    path.write_text(CONFIG)
    call_command("import_routes", str(path), stdout=StringIO())
    assert Route.objects.filter(source=Source.ADMIN).count() == 1
    assert Route.objects.filter(source=Source.IMPORT).count() == 3


def test_a_bad_file_is_refused_line_by_line_and_nothing_is_imported(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "upstreams: [{name: ok, url: 'http://ok'}]\n"
        "routes:\n- match: {model: '/(/'}\n- match: {source_host: nope}\n"
        "model_map: {'/[/': x}\n"
    )
    with pytest.raises(SystemExit) as exit_:
        call_command("import_routes", str(path), stdout=StringIO())
    assert exit_.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert "routes[0].match.model" in lines[0]
    assert "routes[1].match.source_host" in lines[1]
    assert "model_map['/[/']" in lines[2]
    assert not Route.objects.exists() and not ModelMapping.objects.exists()
    assert not Upstream.objects.exists()


def test_an_unknown_upstream_rolls_back_everything(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "upstreams: [{name: ok, url: 'http://ok'}]\n"
        "routes: [{match: {model: a}, route: {upstream: ok}},\n"
        "         {match: {model: b}, route: {upstream: nowhere}}]\n"
    )
    with pytest.raises(SystemExit):
        call_command("import_routes", str(path), stdout=StringIO())
    assert "routes[1].route.upstream: no upstream is named 'nowhere'" in capsys.readouterr().err
    assert not Upstream.objects.exists() and not Route.objects.exists()


def test_bad_targets_and_strategies_are_refused_with_their_place(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "upstreams: [{name: ok, url: 'http://ok', max_concurrency: 0}]\n"
        "routes:\n"
        "- route: {strategy: random, targets: [{upstream: ok, weight: 0}, {model: x}]}\n"
        "- route: {upstream: ok, targets: [{upstream: ok}]}\n"
    )
    with pytest.raises(SystemExit):
        call_command("import_routes", str(path), stdout=StringIO())
    err = capsys.readouterr().err
    for where in (
        "upstreams[0].max_concurrency",
        "routes[0].route.targets[0].weight",
        "routes[0].route.targets[1].upstream: required",
        "routes[0].route.strategy",
        "routes[1].route: give either upstream or targets",
    ):
        assert where in err
    assert not Route.objects.exists()


def test_imported_targets_route_requests(tmp_path):
    from routing.config.current import build_rules

    path = tmp_path / "routes.yaml"
    path.write_text(CONFIG)
    call_command("import_routes", str(path), stdout=StringIO())
    rule = next(r for r in build_rules().routes if r.name == "qwen everywhere")
    assert rule.strategy == "weighted"
    assert [(t.upstream.name, t.model, t.weight) for t in rule.targets] == [
        ("gpu", "", 3.0),
        ("cloud", "qwen-max", 1.0),
    ]
    assert rule.targets[0].upstream.max_concurrency == 4
