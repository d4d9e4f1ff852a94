"""`manage.py curate`: each automatic rule on the database, people's verdicts kept, duplicates."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from recording.models import Conversation, CurationRules
from routing.models import Workflow
from tests.curation.helpers import conversation

pytestmark = pytest.mark.django_db


def curate(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("curate", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def verdict(row: Conversation) -> tuple[str, str]:
    row.refresh_from_db()
    return row.review_state, row.rule


def test_default_rules_reject_cut_off_empty_refusing_and_error_replies():
    good = conversation(reply="Paris.")
    cut = conversation(reply="Once upon a", finish="length")
    empty = conversation(reply="")
    refusal = conversation(reply="I'm sorry, but I can't help with that.")
    error = conversation(reply="Error: upstream timed out")
    other = conversation(reply="", workflow="elsewhere")
    summary, details = curate("--workflow", "support")
    assert summary == "support: checked 5, rejected 4, back to review 0"
    assert verdict(good) == ("new", "")
    assert verdict(cut) == ("rejected", "cut off (finish_reason length)")
    assert verdict(empty) == ("rejected", "empty reply")
    assert verdict(refusal)[1].startswith("pattern: I'?m sorry")
    assert verdict(error) == ("rejected", r"pattern: ^\s*(?:error|exception)\b")
    assert verdict(other) == ("new", "")  # another workflow
    assert "1 rejected: empty reply" in details


def test_a_workflows_own_rules_bound_length_in_characters_and_tokens():
    flow = Workflow.objects.create(name="support")
    CurationRules.objects.create(
        workflow=flow, patterns="banana", min_chars=3, max_chars=20, max_tokens=50
    )
    short = conversation(reply="ok")
    long = conversation(reply="x" * 21)
    wordy = conversation(reply="fine enough", tokens=51)
    fruit = conversation(reply="a Banana split")
    ai = conversation(reply="As an AI, yes")  # the defaults were replaced
    curate("--workflow", "support")
    assert verdict(short) == ("rejected", "under 3 characters")
    assert verdict(long) == ("rejected", "over 20 characters")
    assert verdict(wordy) == ("rejected", "over 50 tokens")
    assert verdict(fruit) == ("rejected", "pattern: banana")
    assert verdict(ai) == ("new", "")


def test_a_reviewed_conversation_is_left_alone():
    approved = conversation(reply="", review_state="approved", reviewed_at=timezone.now())
    curate("--workflow", "support")
    assert verdict(approved) == ("approved", "")


def test_when_the_rules_change_a_rule_rejection_goes_back_to_review():
    flow = Workflow.objects.create(name="support")
    rules = CurationRules.objects.create(workflow=flow, patterns="banana")
    fruit = conversation(reply="banana")
    curate("--workflow", "support")
    assert verdict(fruit) == ("rejected", "pattern: banana")
    rules.patterns = "cherry"
    rules.save()
    summary, _ = curate("--workflow", "support")
    assert summary == "support: checked 1, rejected 0, back to review 1"
    assert verdict(fruit) == ("new", "")


def test_curate_with_dedupe_marks_repeated_prompts_and_keeps_the_first():
    first = conversation("Where is my parcel?", minutes=0)
    again = conversation("where is my PARCEL", minutes=1)
    rejected = conversation("Where is my parcel?", reply="", minutes=2)
    other = conversation("How do I reset my password?", minutes=3)
    summary, _ = curate("--workflow", "support", "--dedupe")
    assert summary.endswith(", 1 duplicates")
    for row in (first, again, rejected, other):
        row.refresh_from_db()
    assert again.duplicate_of_id == first.pk
    assert (first.duplicate_of_id, rejected.duplicate_of_id, other.duplicate_of_id) == (
        None,
        None,
        None,
    )


def test_a_pattern_re2_refuses_cannot_be_saved():
    rules = CurationRules(workflow=Workflow.objects.create(name="support"), patterns="(a")
    with pytest.raises(ValidationError, match="invalid pattern"):
        rules.full_clean()
