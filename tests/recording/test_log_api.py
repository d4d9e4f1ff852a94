"""The staff-only JSON APIs over the request log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recording.models import RequestBody, State
from routing.core.exchange import new_request_id
from routing.models import compress
from tests.fixtures import make_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/api/logs", "/api/inflight", "/api/stats"])
def test_anonymous_callers_get_a_json_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_logged_in_non_staff_get_a_json_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw"))
    response = client.get("/api/logs")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_logs_are_newest_first_and_paged_by_cursor(staff):
    rows = [make_row(minutes_ago=m) for m in (3, 2, 1)]
    first = staff.get("/api/logs", {"limit": 2}).json()
    assert [r["id"] for r in first["data"]] == [str(rows[2].pk), str(rows[1].pk)]
    second = staff.get("/api/logs", {"limit": 2, "before": first["next"]}).json()
    assert [r["id"] for r in second["data"]] == [str(rows[0].pk)]
    assert second["next"] is None


def test_logs_filter_by_model_service_status_workflow_and_since(staff):
    make_row(model_in="a", workflow="w1")
    make_row(model_in="b", service="ollama", status=502, state=State.ERROR)
    make_row(minutes_ago=120, model_in="a")

    def ids(**params):
        return len(staff.get("/api/logs", params).json()["data"])

    assert ids(model="a") == 2
    assert ids(service="ollama") == 1
    assert ids(status=502) == 1
    assert ids(workflow="w1") == 1
    since = (timezone.now() - timedelta(minutes=60)).isoformat()
    assert ids(since=since) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("since", "0001-01-01T00:00:00+05:00"),
        ("until", "9999-12-31T23:59:59-05:00"),
        ("before", "x"),
    ],
)
def test_times_and_cursors_out_of_range_are_4xx_in_openais_shape(staff, field, value):
    make_row()
    response = staff.get("/api/logs", {field: value})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


def test_one_log_comes_with_its_bodies(staff):
    row = make_row()
    RequestBody.objects.create(
        request=row,
        request_headers=compress(b'{"a": "b"}'),
        request_body=compress(b'{"q": 1}'),
        response_body=compress(b"data: x"),
    )
    data = staff.get(f"/api/logs/{row.pk}").json()
    assert data["bodies"] == {
        "request_headers": {"a": "b"},
        "request": '{"q": 1}',
        "response": "data: x",
        "truncated": False,
    }
    assert staff.get(f"/api/logs/{new_request_id()}").status_code == 404


def test_inflight_lists_rows_in_progress_with_elapsed_time(staff):
    make_row(minutes_ago=1, state=State.IN_PROGRESS, status=None)
    make_row()
    [row] = staff.get("/api/inflight").json()["data"]
    assert 55_000 < row["elapsed_ms"] < 120_000


def test_stats_count_totals_services_models_and_the_last_hour(staff):
    make_row(model_in="a")
    make_row(model_in="a", state=State.ERROR, status=500)
    make_row(model_in="b", service="ollama", minutes_ago=90)
    make_row(state=State.IN_PROGRESS, status=None, model_in="b")
    data = staff.get("/api/stats").json()
    assert data["total"]["requests"] == 3  # finished ones; the one in flight is counted apart
    assert data["total"]["errors"] == 1
    assert data["total"]["error_rate"] == pytest.approx(1 / 3)
    assert data["total"]["completion_tokens"] == 15
    assert data["total"]["median_duration_ms"] == 100.0
    assert data["by_service"] == {"openai": 2, "ollama": 1}
    assert [m["model"] for m in data["by_model"]] == ["a", "b"]
    assert data["inflight"] == 1
    assert data["last_hour"]["requests"] == 2
    assert data["recording"]["enabled"] is True
    assert staff.get("/api/stats", {"range": "1h"}).json()["total"]["requests"] == 2


def test_stats_also_give_the_flat_integers_of_the_seeds_log_api(staff):
    make_row()
    make_row(service="ollama", minutes_ago=60 * 30)  # older than a day
    make_row(service="anthropic")  # a service added later gets its own count too
    make_row(state=State.IN_PROGRESS, status=None)
    data = staff.get("/api/stats").json()
    assert data["total_requests"] == 3
    assert data["openai_requests"] == 1
    assert data["ollama_requests"] == 1
    assert data["anthropic_requests"] == 1
    assert data["recent_requests"] == 2
    assert data["inflight_requests"] == 1
    flat = [k for k in data if k.endswith("_requests")]
    assert all(isinstance(data[k], int) for k in flat)


def test_every_client_api_has_its_count_even_before_its_first_request(staff):
    data = staff.get("/api/stats").json()
    assert (data["openai_requests"], data["ollama_requests"], data["total_requests"]) == (0, 0, 0)


def test_logs_filter_by_service_type_as_the_seeds_log_api_does(staff):
    make_row(service="openai")
    make_row(service="ollama")
    rows = staff.get("/api/logs", {"service_type": "ollama", "limit": 5}).json()["data"]
    assert [r["service"] for r in rows] == ["ollama"]
    assert len(staff.get("/api/logs", {"limit": 1}).json()["data"]) == 1


def test_one_log_includes_its_attempts(staff):
    tries = [
        {"upstream": "a", "status": 503, "error": "loading", "ms": 3.0},
        {"upstream": "b", "status": 200, "error": "", "ms": 40.0},
    ]
    retried = make_row(attempts=tries)
    assert staff.get(f"/api/logs/{retried.pk}").json()["attempts"] == tries
    assert staff.get(f"/api/logs/{make_row().pk}").json()["attempts"] == []
