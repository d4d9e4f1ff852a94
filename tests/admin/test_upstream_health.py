"""Health and targets where people look: the admin, the explain page, the API, a request."""

from __future__ import annotations

import pytest
from django.urls import reverse

from routing.config.current import build_rules
from routing.models import Route, RouteTarget, Upstream
from routing.rules.explain import explain
from routing.upstreams.health import health
from tests.fixtures import make_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@x.com", "pw"))
    return client


def test_the_upstream_list_and_the_api_show_health(staff, client, settings):
    settings.COOLDOWN_FAILURES = 1
    gpu = Upstream.objects.create(name="gpu", base_url="http://gpu:8000")
    Upstream.objects.create(name="idle", base_url="http://idle:8000")  # no route uses it
    Route.objects.create(match_model="m", upstream=gpu)
    health.failed("gpu", "connection refused")
    page = staff.get(reverse("admin:routing_upstream_changelist")).content.decode()
    assert "cooldown: connection refused" in page
    rows = {r["upstream"]: r for r in staff.get("/api/upstreams").json()["data"]}
    assert rows["gpu"]["status"] == "cooldown" and rows["gpu"]["cooldown_seconds"] > 0
    assert rows["gpu"]["base_url"] == "http://gpu:8000"
    assert rows["default"]["status"] == "unknown" and set(rows) == {"gpu", "default"}
    client.logout()
    assert client.get("/api/upstreams").status_code in (401, 403)


def test_targets_are_edited_inline_and_explained(staff):
    gpu = Upstream.objects.create(name="gpu", base_url="http://gpu:8000")
    cpu = Upstream.objects.create(name="cpu", base_url="http://cpu:8000")
    response = staff.post(
        reverse("admin:routing_route_add"),
        {
            "position": 10,
            "name": "shared",
            "enabled": "on",
            "match_model": "qwen",
            "match_source": "",
            "rewrite_model": "",
            "strip_thinking": "",
            "disable_thinking": "unknown",
            "strip_json_markdown": "unknown",
            "strategy": "weighted",
            "cache": "unknown",
            "targets-TOTAL_FORMS": "2",
            "targets-INITIAL_FORMS": "0",
            "targets-0-position": "0",
            "targets-0-upstream": gpu.pk,
            "targets-0-model": "",
            "targets-0-weight": "3",
            "targets-1-position": "1",
            "targets-1-upstream": cpu.pk,
            "targets-1-model": "qwen3:4b",
            "targets-1-weight": "1",
        },
    )
    assert response.status_code == 302
    route = Route.objects.get(name="shared")
    assert [(t.upstream.name, t.weight) for t in route.targets.all()] == [("gpu", 3), ("cpu", 1)]
    lines = explain(build_rules(), "qwen", "127.0.0.1").lines()
    assert "→ weighted over 2 targets: gpu (http://gpu:8000) as qwen, weight 3; " in lines[-3]
    assert "cpu (http://cpu:8000) as qwen3:4b, weight 1" in lines[-3]
    page = staff.get(reverse("admin:routing_route_explain"), {"model": "qwen", "client": "1.2.3.4"})
    assert "weighted over 2 targets" in page.content.decode()


def test_a_weight_must_be_positive(staff):
    gpu = Upstream.objects.create(name="gpu", base_url="http://gpu:8000")
    route = Route.objects.create(name="r", match_model="m")
    target = RouteTarget(route=route, upstream=gpu, weight=0)
    with pytest.raises(Exception, match="above 0"):
        target.full_clean()


def test_a_request_page_lists_every_try(staff):
    row = make_row(
        model_in="m",
        model_out="m",
        upstream="spare",
        attempts=[
            {"upstream": "gpu", "status": 503, "error": "loading model", "ms": 12.5},
            {"upstream": "spare", "status": 200, "error": "", "ms": 80.0},
        ],
    )
    page = staff.get(f"/request/{row.pk}", HTTP_ACCEPT="text/html").content.decode()
    assert "gpu: 503 after 12.5 ms (loading model)" in page
    assert "spare: 200 after 80.0 ms" in page
