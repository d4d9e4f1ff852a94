"""Every admin page loads, the request log stays cheap on a large table, actions work."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recording import bulk
from recording.capture import digest
from recording.models import Conversation, RequestBody, RequestLog, State
from routing.core.exchange import new_request_id
from routing.models import CachedResponse, ModelMapping, Route, Upstream, Workflow, compress
from tests.fixtures import make_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


def many_logs(n: int) -> None:
    now = timezone.now()
    rows = [
        {
            "id": new_request_id(),
            "started_at": now - timedelta(seconds=i),
            "state": State.OK,
            "status": 200,
            "service": "openai",
            "endpoint": "/v1/chat/completions",
            "model_in": f"model-{i % 7}",
            "workflow": "default",
            "duration_ms": 12.5,
        }
        for i in range(n)
    ]
    for statement in bulk.insert(RequestLog, bulk.values(RequestLog, rows)):
        statement.execute()


@pytest.mark.parametrize(
    "model", [Upstream, Route, ModelMapping, Workflow, RequestLog, Conversation, CachedResponse]
)
def test_each_changelist_loads(staff, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert staff.get(url).status_code == 200


@pytest.mark.parametrize("model", [Upstream, Route, ModelMapping, Workflow])
def test_each_add_form_loads(staff, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    assert staff.get(url).status_code == 200


def test_the_request_log_list_never_counts_a_large_table(staff):
    many_logs(12_000)
    url = reverse("admin:recording_requestlog_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(url, {"state__exact": "ok", "model_in": "model-3"})
    assert response.status_code == 200
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not any("COUNT(" in q and "LIMIT" not in q and "REQUESTLOG" in q for q in sql), sql
    assert len(sql) < 20
    assert b"model-3" in response.content and b"model-4" not in response.content


def test_a_request_log_page_shows_bodies_and_the_model_rewrite(staff):
    row = make_row(
        model_in="gpt-4",
        model_out="llama3",
    )
    RequestBody.objects.create(
        request=row,
        request_headers=compress(b'{"authorization": "[redacted]"}'),
        request_body=compress(b'{"q": "<b>hi</b>"}'),
        response_body=compress(b"data: done"),
    )
    page = staff.get(reverse("admin:recording_requestlog_change", args=[row.pk])).content
    assert b"[redacted]" in page and b"data: done" in page
    assert b"&lt;b&gt;hi&lt;/b&gt;" in page and b"<b>hi</b>" not in page
    listing = staff.get(reverse("admin:recording_requestlog_changelist")).content.decode()
    assert "gpt-4 → llama3" in listing


def conversation(workflow: str, request_id=None) -> Conversation:
    messages = [{"role": "user", "content": f"q {workflow}"}, {"role": "assistant", "content": "a"}]
    return Conversation.objects.create(
        request_id=request_id or new_request_id(),
        workflow=workflow,
        model="m",
        created_at=timezone.now(),
        messages=messages,
        digest=digest(messages),
        prompt_tokens=3,
        completion_tokens=1,
    )


def test_workflow_actions_download_chatml_and_show_counts(staff):
    flow = Workflow.objects.create(name="support")
    Workflow.objects.create(name="other")
    conversation("support")
    conversation("other")
    rejected = conversation("support")
    rejected.review_state = "rejected"
    rejected.save()
    url = reverse("admin:routing_workflow_changelist")
    download = staff.post(url, {"action": "download_conversations", "_selected_action": [flow.pk]})
    lines = [json.loads(x) for x in b"".join(download.streaming_content).splitlines()]
    assert [r["workflow_id"] for r in lines] == ["support"]
    assert set(lines[0]) == {"messages", "timestamp", "model", "workflow_id"}
    counts = staff.post(url, {"action": "show_counts", "_selected_action": [flow.pk]})
    assert b"support" in counts.content and b"<td>1</td>" in counts.content


def test_request_log_action_downloads_the_selected_conversations(staff):
    rows = [make_row() for _ in range(2)]
    conversation("a", rows[0].pk)
    conversation("b", rows[1].pk)
    response = staff.post(
        reverse("admin:recording_requestlog_changelist"),
        {"action": "download_conversations", "_selected_action": [rows[1].pk]},
    )
    lines = [json.loads(x) for x in b"".join(response.streaming_content).splitlines()]
    assert [r["workflow_id"] for r in lines] == ["b"]


def test_cached_responses_can_be_purged(staff):
    now = timezone.now()
    for i, expires in enumerate([now - timedelta(seconds=1), now + timedelta(hours=1)]):
        CachedResponse.objects.create(
            key=str(i),
            method="POST",
            path="/v1/chat/completions",
            status=200,
            content_type="application/json",
            body=b"",
            created_at=now,
            expires_at=expires,
        )
    purge = reverse("admin:routing_cachedresponse_purge")
    staff.post(purge, {"what": "expired"})
    assert CachedResponse.objects.count() == 1
    staff.post(purge, {"what": "all"})
    assert CachedResponse.objects.count() == 0


def test_admin_changes_are_in_the_admin_history(staff):
    from django.contrib.admin.models import LogEntry

    staff.post(
        reverse("admin:routing_modelmapping_add"),
        {"position": 10, "pattern": "gpt-4", "replacement": "llama3", "enabled": "on"},
    )
    entry = LogEntry.objects.get()
    assert entry.user.username == "root" and "gpt-4" in entry.object_repr


def issued_secret(page: str) -> str:
    return page.split('<code class="issued-key">')[1].split("</code>")[0]


def assert_kept_out_of_cookies_and_sessions(response, secret: str) -> None:
    from django.contrib.sessions.models import Session

    assert response.status_code == 200  # the page itself, not a redirect to another
    assert "no-store" in response["Cache-Control"]
    assert secret not in str(response.cookies) and secret not in str(response.client.cookies)
    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())


def test_a_gateway_key_is_shown_once_and_stored_hashed(staff):
    from routing.models import GatewayKey

    response = staff.post(
        reverse("admin:routing_gatewaykey_add"),
        {"name": "ci", "allowed_models": "", "rate_limit": "10/m", "enabled": "on"},
    )
    secret = issued_secret(response.content.decode())
    assert secret.startswith(GatewayKey.PREFIX)
    assert_kept_out_of_cookies_and_sessions(response, secret)
    key = GatewayKey.objects.get()
    assert key.key_hash == GatewayKey.hash(secret) and secret not in key.key_start
    again = staff.get(reverse("admin:routing_gatewaykey_change", args=[key.pk])).content
    assert secret.encode() not in again
    listing = staff.get(reverse("admin:routing_gatewaykey_changelist")).content
    assert secret.encode() not in listing


def test_a_new_secret_for_a_key_is_shown_on_the_answer_page_only(staff):
    from routing.models import GatewayKey

    key = GatewayKey(name="ci")
    key.issue()
    key.save()
    response = staff.post(
        reverse("admin:routing_gatewaykey_changelist"),
        {"action": "issue_new_secret", "_selected_action": [key.pk]},
    )
    secret = issued_secret(response.content.decode())
    key.refresh_from_db()
    assert key.key_hash == GatewayKey.hash(secret)
    assert_kept_out_of_cookies_and_sessions(response, secret)


def test_a_status_filter_that_is_not_a_number_is_a_400(staff):
    response = staff.get("/admin/recording/requestlog/?status=abc")
    assert response.status_code == 400


def test_a_bad_rate_or_pattern_on_a_key_is_refused(staff):
    response = staff.post(
        reverse("admin:routing_gatewaykey_add"),
        {"name": "x", "allowed_models": "/(/", "rate_limit": "lots", "enabled": "on"},
    )
    page = response.content.decode()
    assert "invalid regex" in page and "is not a rate" in page
