"""Validation of every field kind, and the explanation page and command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from routing.models import ModelMapping, Route, Upstream, Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@x.com", "pw"))
    return client


def post(staff, model: str, data: dict):
    return staff.post(reverse(f"admin:{model}_add"), data)


ROUTE = {
    "position": 10,
    "name": "r",
    "enabled": "on",
    "match_model": "",
    "match_source": "",
    "rewrite_model": "",
    "strip_thinking": "",
    "disable_thinking": "unknown",
    "strip_json_markdown": "unknown",
    "strategy": "fallback",
    "cache": "unknown",
    "targets-TOTAL_FORMS": "0",
    "targets-INITIAL_FORMS": "0",
}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"match_model": "/(unclosed/"}, "invalid regex"),
        ({"match_model": "/(a)\\1/"}, "invalid regex"),  # back-references are not linear
        ({"match_source": "10.0.0.300"}, "is not an IP address or CIDR block"),
        ({"match_source": "my-laptop"}, "is not an IP address or CIDR block"),
        ({"match_model": "/(a)/", "rewrite_model": "x\\2"}, "refers to group 2"),
    ],
)
def test_bad_routes_are_refused_with_a_clear_message(staff, fields, message):
    response = post(staff, "routing_route", {**ROUTE, **fields})
    assert response.status_code == 200  # the form again, with its errors
    assert message in response.content.decode()
    assert not Route.objects.exists()


def test_a_catastrophic_regex_is_safe_to_accept(staff):
    response = post(staff, "routing_route", {**ROUTE, "match_model": "/(a+)+$/"})
    assert response.status_code == 302
    from routing.config.current import build_rules

    route = build_rules().routes[0]
    assert route.model.match("a" * 200_000 + "!") is None  # linear: returns at once


@pytest.mark.parametrize("url", ["ftp://host", "not a url", "http//x"])
def test_upstream_urls_must_be_http(staff, url):
    response = post(staff, "routing_upstream", {"name": "u", "base_url": url, "enabled": "on"})
    assert "Enter an http(s) URL." in response.content.decode()
    assert not Upstream.objects.exists()


def test_a_mapping_must_compile(staff):
    response = post(
        staff,
        "routing_modelmapping",
        {"position": 1, "pattern": "/[/", "replacement": "x", "enabled": "on"},
    )
    assert "invalid regex" in response.content.decode()
    assert not ModelMapping.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "../etc", "port": ""}, "letters, digits"),
        ({"name": "fine", "port": "1234"}, "the gateway&#x27;s own port"),
        ({"name": "fine", "port": "70000"}, "65535"),
        ({"name": "fine", "port": "3001"}, "already exists"),
    ],
)
def test_workflow_names_and_ports_are_checked(staff, settings, data, message):
    settings.LISTEN_PORT = 1234
    Workflow.objects.create(name="taken", port=3001)
    response = post(staff, "routing_workflow", {"description": "", **data})
    assert message in response.content.decode()
    assert Workflow.objects.count() == 1


def test_an_upstream_key_is_never_shown_back(staff):
    upstream = Upstream.objects.create(name="cloud", base_url="http://c", api_key="sk-secret-1")
    page = staff.get(reverse("admin:routing_upstream_change", args=[upstream.pk])).content
    assert b"sk-secret-1" not in page
    staff.post(
        reverse("admin:routing_upstream_change", args=[upstream.pk]),
        {"name": "cloud", "base_url": "http://c", "api_key": "", "enabled": "on"},
    )
    upstream.refresh_from_db()
    assert upstream.api_key == "sk-secret-1"  # an empty field keeps the key


@pytest.fixture
def rules():
    gpu = Upstream.objects.create(name="gpu", base_url="http://gpu:8000")
    Route.objects.create(position=1, name="lab", match_source="10.9.0.0/16", upstream=gpu)
    Route.objects.create(
        position=2,
        name="llamas",
        match_model="/llama-(.*)/",
        rewrite_model=r"meta-llama-\1",
        upstream=gpu,
    )
    ModelMapping.objects.create(position=1, pattern="gpt-4", replacement="llama-70b")


def test_the_explain_page_shows_why_each_rule_did_or_did_not_match(staff, rules):
    page = staff.get(
        reverse("admin:routing_route_explain"),
        {"model": "llama-3b", "client": "10.1.1.1", "workflow": "w"},
    ).content.decode()
    assert "client 10.1.1.1 is not in 10.9.0.0/16" in page
    assert "rewrites the model to &#x27;meta-llama-3b&#x27;" in page
    assert "<strong>gpu</strong>" in page and "<strong>meta-llama-3b</strong>" in page
    assert "captured into workflow <strong>w</strong>" in page


def test_the_explain_command_says_the_same(rules):
    out = StringIO()
    call_command("route_explain", "--model", "gpt-4", "--source-ip", "10.2.0.1", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "✗ route 'lab': client 10.2.0.1 is not in 10.9.0.0/16"
    assert lines[1].startswith("✗ route 'llamas': model 'gpt-4' does not match the regex")
    assert lines[2] == "✗ routes: no route matches: the default upstream"
    assert lines[3] == "✓ model map: the exact name 'gpt-4' maps 'gpt-4' to 'llama-70b'"
    assert lines[-2] == "→ model llama-70b"


def test_the_explanation_says_how_each_regex_was_matched(rules):
    ModelMapping.objects.create(position=2, pattern="/gpt-(.*)-turbo/", replacement=r"qwen-\1")
    out = StringIO()
    call_command("route_explain", "--model", "meta-llama-3", stdout=out)
    assert "model matches the regex /llama-(.*)/ (found anywhere in the name)" in out.getvalue()
    out = StringIO()
    call_command("route_explain", "--model", "gpt-3.5-turbo-16k", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[1] == (
        "✗ route 'llamas': model 'gpt-3.5-turbo-16k' does not match"
        " the regex /llama-(.*)/ (found anywhere in the name)"
    )
    assert lines[3] == (
        "✓ model map: the regex /gpt-(.*)-turbo/ (matched from the start of the name) maps"
        " 'gpt-3.5-turbo-16k' to 'qwen-3.5' (the whole model becomes the replacement)"
    )


def test_the_explain_page_refuses_a_bad_address(staff):
    page = staff.get(
        reverse("admin:routing_route_explain"), {"model": "m", "client": "nope"}
    ).content.decode()
    assert "Enter an IP address." in page
