"""Reviewing in the admin: filters, the escaped transcript, verdicts, tags, edits, actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recording.models import Chosen, Conversation, CurationRules
from routing.models import Workflow
from tests.curation.helpers import alternative, conversation

pytestmark = pytest.mark.django_db

LIST = "admin:recording_conversation_changelist"


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


def change_url(row: Conversation) -> str:
    return reverse("admin:recording_conversation_change", args=[row.pk])


def listed(staff, query: str = "") -> str:
    response = staff.get(reverse(LIST) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_filters_by_review_tag_length_rule_and_more(staff):
    conversation("alpha question", tags=",good,", tokens=10)
    conversation("beta question", review_state="rejected", rule="empty reply", tokens=900)
    assert "alpha question" in listed(staff, "?tag=GOOD")
    assert "beta question" not in listed(staff, "?tag=good")
    assert "beta question" not in listed(staff, "?review_state__exact=new")
    assert "alpha question" not in listed(staff, "?rule=yes")
    assert "alpha question" not in listed(staff, "?length=long")
    page = listed(
        staff,
        "?workflow=support&model=small&finish=stop&length=short&duplicate=no&edited=no"
        "&relabelled=no",
    )
    assert "alpha question" in page and "beta question" not in page


def test_the_transcript_and_replies_are_shown_as_text(staff):
    row = conversation(
        "<script>alert(1)</script>",
        "<b>bold</b>",
        system="<i>system</i>",
        edited_reply={"role": "assistant", "content": "<em>edit</em>"},
    )
    alternative(row, "big", "<u>alt</u>")
    page = staff.get(change_url(row)).content.decode()
    for raw in ("<script>alert(1)</script>", "<b>bold</b>", "<em>edit</em>", "<u>alt</u>"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;system&lt;/i&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "&lt;em&gt;edit&lt;/em&gt;" in page
    assert "alternative from big" in page and "&lt;u&gt;alt&lt;/u&gt;" in page


def save(staff, row: Conversation, **data: str):
    form = {
        "review_state": "new",
        "tags_text": "",
        "reply_text": "",
        "export_reply": "original",
        "_save": "Save",
        **data,
    }
    response = staff.post(change_url(row), form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    row.refresh_from_db()
    return row


def test_editing_the_reply_keeps_the_original_and_exports_the_edit(staff):
    row = conversation("Q", "Original answer")
    save(staff, row, reply_text="Better answer\r\non two lines", tags_text="Good, rewrite")
    assert row.messages[-1] == {"role": "assistant", "content": "Original answer"}
    assert row.edited_reply == {"role": "assistant", "content": "Better answer\non two lines"}
    assert row.chosen == Chosen.EDITED
    assert row.tags == ",good,rewrite,"
    page = staff.get(change_url(row)).content.decode()
    assert "Original answer" in page and "Better answer" in page
    save(staff, row, reply_text="", export_reply="edited")  # the edit is taken back
    assert row.edited_reply is None and row.chosen == Chosen.ORIGINAL


def test_a_reviewer_picks_an_alternative_to_export(staff):
    row = conversation("Q", "small answer")
    big = alternative(row, "big", "big answer")
    save(staff, row, export_reply=f"alt:{big.pk}")
    assert (row.chosen, row.chosen_alternative_id) == (Chosen.ALTERNATIVE, big.pk)
    response = staff.post(change_url(row), {"review_state": "new", "export_reply": "alt:999"})
    assert response.status_code == 200  # not a choice of this conversation


def test_a_verdict_in_the_form_records_who_gave_it(staff):
    row = save(staff, conversation(), review_state="approved")
    assert (row.review_state, row.reviewed_by) == ("approved", "root")
    assert row.reviewed_at is not None
    row = save(staff, row, review_state="new")
    assert (row.reviewed_by, row.reviewed_at) == ("", None)


def act(staff, action: str, rows: list[Conversation], **extra: str) -> None:
    data = {"action": action, "_selected_action": [r.pk for r in rows], **extra}
    response = staff.post(reverse(LIST), data)
    assert response.status_code == 302


def states(*rows: Conversation) -> list[str]:
    return [Conversation.objects.get(pk=r.pk).review_state for r in rows]


def test_bulk_actions_approve_reject_and_clear(staff):
    a, b = conversation("a"), conversation("b", rule="empty reply", review_state="rejected")
    act(staff, "approve", [a, b])
    assert states(a, b) == ["approved", "approved"]
    assert Conversation.objects.get(pk=b.pk).reviewed_by == "root"
    act(staff, "reject", [a])
    assert states(a, b) == ["rejected", "approved"]
    act(staff, "clear_review", [a, b])
    assert states(a, b) == ["new", "new"]
    cleared = Conversation.objects.get(pk=b.pk)
    assert (cleared.rule, cleared.reviewed_at) == ("", None)


def test_bulk_tagging_adds_and_removes_tags(staff):
    a, b = conversation("a", tags=",old,"), conversation("b")
    act(staff, "add_tags", [a, b], tags="Good, checked")
    tags = lambda row: Conversation.objects.get(pk=row.pk).tags  # noqa: E731
    assert (tags(a), tags(b)) == (",old,good,checked,", ",good,checked,")
    act(staff, "remove_tags", [a, b], tags="good")
    assert (tags(a), tags(b)) == (",old,checked,", ",checked,")
    act(staff, "remove_tags", [a], tags="")
    assert tags(a) == ""


def test_actions_apply_the_rules_and_mark_duplicates(staff):
    empty = conversation("x", "")
    first, again = conversation("same", "1"), conversation("Same!", "2", minutes=1)
    act(staff, "run_rules", [empty, first])
    assert states(empty, first) == ["rejected", "new"]
    act(staff, "find_duplicates", [first])
    assert Conversation.objects.get(pk=again.pk).duplicate_of_id == first.pk
    assert f"conversation {first.pk}</a>" in staff.get(change_url(again)).content.decode()


def test_the_workflow_page_shows_training_data_with_a_histogram(staff):
    flow = Workflow.objects.create(name="support")
    conversation("a", tokens=10, review_state="approved")
    conversation("b", tokens=10)
    alternative(conversation("c", tokens=300, review_state="rejected"), "big", "x")
    change = staff.get(reverse("admin:routing_workflow_change", args=[flow.pk]))
    url = reverse("admin:routing_workflow_training_data", args=[flow.pk])
    assert url in change.content.decode()
    page = staff.get(url).content.decode()
    # sessions, turns, to review, approved, rejected, duplicates, edited, relabelled
    cells = "<td>3</td><td>3</td><td>1</td><td>1</td><td>1</td><td>0</td><td>0</td><td>1</td>"
    assert f"<td>support</td>{cells}" in page
    assert '<progress class="histogram-bar" value="2" max="2">' in page
    assert '<progress class="histogram-bar" value="1" max="2">' in page
    assert "recording/curation.css" in page
    actions = staff.post(
        reverse("admin:routing_workflow_changelist"),
        {"action": "show_counts", "_selected_action": [flow.pk]},
    )
    assert f"<td>support</td>{cells}" in actions.content.decode()


def test_workflow_rules_are_edited_inline_and_applied_by_an_action(staff):
    flow = Workflow.objects.create(name="support")
    data = {
        "name": "support",
        "port": "",
        "description": "",
        "curation-TOTAL_FORMS": "1",
        "curation-INITIAL_FORMS": "0",
        "curation-MIN_NUM_FORMS": "0",
        "curation-MAX_NUM_FORMS": "1",
        "curation-0-reject_cut_off": "on",
        "curation-0-reject_empty": "on",
        "curation-0-patterns": "banana\n",
        "curation-0-min_chars": "3",
        "_save": "Save",
    }
    url = reverse("admin:routing_workflow_change", args=[flow.pk])
    bad = staff.post(url, {**data, "curation-0-patterns": "(a"})
    assert bad.status_code == 200 and "invalid pattern" in bad.content.decode()
    assert staff.post(url, data).status_code == 302
    assert CurationRules.objects.get(workflow=flow).as_rules().patterns == ("banana",)
    fruit, short = conversation("q", "banana bread"), conversation("q2", "ok")
    staff.post(
        reverse("admin:routing_workflow_changelist"),
        {"action": "apply_curation", "_selected_action": [flow.pk]},
    )
    fruit.refresh_from_db()
    short.refresh_from_db()
    assert (fruit.rule, short.rule) == ("pattern: banana", "under 3 characters")
