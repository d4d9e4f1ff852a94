"""The dashboard's pages: login, few queries, escaping, transcripts, 404s."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recording.models import HourlyStat, RequestBody, RequestLog
from routing.config.current import build_rules
from routing.core.exchange import new_request_id
from routing.models import compress
from tests.fixtures import make_row

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html"}
EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ops", password="pw", is_staff=True))
    return client


@pytest.mark.parametrize("path", ["/", "/performance", f"/request/{new_request_id()}"])
def test_pages_need_a_staff_login(client, django_user_model, path):
    response = client.get(path, **HTML)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("viewer", password="pw"))
    assert client.get(path, **HTML).status_code == 302


def test_api_clients_still_get_json_at_the_root(client):
    assert client.get("/", HTTP_ACCEPT="application/json").json()["service"] == "llmproxy"


def test_the_dashboard_paints_with_a_handful_of_queries(staff, monkeypatch):
    call_command("generate_logs", "--count", "3000", stdout=StringIO())
    rules = build_rules()  # a running gateway has its rules loaded at start
    monkeypatch.setattr("analytics.health.loaded_rules", lambda: rules)
    with CaptureQueriesContext(connection) as queries:
        response = staff.get("/", **HTML)
    assert response.status_code == 200
    assert len(queries) <= 12
    script = response.content.split(b'id="initial" type="application/json">')[1]
    initial = json.loads(script.split(b"</script>")[0])
    assert initial["stats"]["total"]["requests"] > 0
    assert len(initial["logs"]["data"]) == 50


def test_model_names_and_prompts_are_escaped_everywhere(staff):
    row = make_row(
        model_in=EVIL,
        model_out=EVIL,
        workflow="default",
    )
    body = json.dumps({"model": EVIL, "messages": [{"role": "user", "content": EVIL}]})
    RequestBody.objects.create(
        request=row,
        request_body=compress(body.encode()),
        response_body=compress(b""),
        request_headers=compress(b"{}"),
    )
    for path in ["/", f"/request/{row.pk}", "/performance"]:
        page = staff.get(path, **HTML).content.decode()
        assert "<script>window" not in page and "<img src=x" not in page, path


def test_a_request_page_shows_the_transcript_and_timings(staff):
    row = make_row(
        model_in="gpt-4",
        model_out="llama3",
        upstream="gpu",
        route="big",
        stream=True,
        duration_ms=2000,
        ttft_ms=150,
        completion_tokens=100,
    )
    request = {
        "model": "gpt-4",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello"},
        ],
    }
    sse = (
        'data: {"choices":[{"index":0,"delta":{"content":"hi "}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{"content":"there"}}]}\n\ndata: [DONE]\n\n'
    )
    RequestBody.objects.create(
        request=row,
        request_body=compress(json.dumps(request).encode()),
        response_body=compress(sse.encode()),
        request_headers=compress(b'{"authorization": "[redacted]"}'),
    )
    page = staff.get(f"/request/{row.pk}", **HTML).content.decode()
    assert page.index("be brief") < page.index("hello") < page.index("hi there")
    assert "gpt-4 → llama3 via gpu (route big)" in page
    assert "50.0 tokens/s" in page and "time to first token 150 ms" in page
    assert f"/admin/recording/requestlog/{row.pk}/change/" in page


def test_an_unknown_request_is_a_404_page(staff):
    response = staff.get(f"/request/{new_request_id()}", **HTML)
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_generated_logs_fill_the_statistics_too():
    out = StringIO()
    call_command("generate_logs", "--count", "1200", "--days", "2", stdout=out)
    assert out.getvalue().strip() == "Generated 1200 request logs over 2 days"
    assert RequestLog.objects.count() == 1200
    assert sum(HourlyStat.objects.values_list("requests", flat=True)) == 1200
