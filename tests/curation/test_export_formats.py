"""export_chatml's formats and options on known data: the exact files, their summaries."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recording.formats import TRAIN, split_of
from recording.models import Chosen
from tests.curation.helpers import alternative, conversation

pytestmark = pytest.mark.django_db

CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
        }
    ],
}
TOOLS = [{"type": "function", "function": {"name": "weather"}}]


def rid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def export(tmp_path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("export_chatml", "--out", str(tmp_path), *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def text(path) -> str:
    return path.read_text()


def test_chatml_by_default_leaves_out_rejected_rows_and_follows_the_reviewers_pick(tmp_path):
    conversation("Hi", "Hello", request_id=rid(1))
    conversation("Bye", "Goodbye", minutes=1, review_state="rejected")
    edited = {"role": "assistant", "content": "Polished"}
    conversation("Fix", "raw", minutes=2, edited_reply=edited, chosen=Chosen.EDITED)
    summary, files = export(tmp_path)
    path = tmp_path / "support" / "conversations.jsonl"
    assert text(path) == (
        '{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}],'
        '"timestamp":"2026-05-01T12:00:00Z","model":"small","workflow_id":"support"}\n'
        '{"messages":[{"role":"user","content":"Fix"},{"role":"assistant","content":"Polished"}],'
        '"timestamp":"2026-05-01T12:02:00Z","model":"small","workflow_id":"support"}\n'
    )
    assert summary == f"Exported 2 sessions (2 turns) in 1 files, 0 skipped to {tmp_path}"
    # 3 prompt + 5 completion tokens, then 3 + "Polished" counted (2): it was never sent
    assert files == f"{path}: 2 sessions, 2 turns, 13 tokens\n"


def test_chatml_keeps_tool_calls_and_tools(tmp_path):
    conversation("Weather?", CALL, tools=TOOLS, finish="tool_calls")
    export(tmp_path)
    assert text(tmp_path / "support" / "conversations.jsonl") == (
        '{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,'
        '"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather",'
        '"arguments":"{\\"city\\":\\"Paris\\"}"}}]}],"timestamp":"2026-05-01T12:00:00Z",'
        '"model":"small","workflow_id":"support","tools":[{"type":"function","function":'
        '{"name":"weather"}}]}\n'
    )


def test_sharegpt_writes_named_turns_with_function_calls(tmp_path):
    conversation("Hi", "Hello", system="Be brief.")
    conversation("Weather?", CALL, tools=TOOLS, minutes=1)
    summary, _ = export(tmp_path, "--format", "sharegpt")
    assert text(tmp_path / "support" / "conversations.jsonl") == (
        '{"conversations":[{"from":"system","value":"Be brief."},{"from":"human","value":"Hi"},'
        '{"from":"gpt","value":"Hello"}]}\n'
        '{"conversations":[{"from":"human","value":"Weather?"},{"from":"function_call",'
        '"value":"{\\"name\\": \\"weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}"}],'
        '"tools":"[{\\"type\\": \\"function\\", \\"function\\": {\\"name\\": \\"weather\\"}}]"}\n'
    )
    assert summary.startswith("Exported 2 sessions (2 turns) in 1 files, 0 skipped")


def test_alpaca_keeps_single_turns_and_counts_what_it_cannot_hold(tmp_path):
    conversation("Capital of France?", "Paris.", system="Be brief.")
    conversation("Weather?", CALL, minutes=1)
    multi = conversation("First", "One", minutes=2)
    multi.messages = [
        {"role": "user", "content": "First"},
        {"role": "assistant", "content": "One"},
        {"role": "user", "content": "Second"},
        {"role": "assistant", "content": "Two"},
    ]
    multi.save()
    summary, _ = export(tmp_path, "--format", "alpaca")
    assert text(tmp_path / "support" / "conversations.jsonl") == (
        '{"instruction":"Capital of France?","input":"","output":"Paris.","system":"Be brief."}\n'
    )
    assert summary == (
        "Exported 1 sessions (1 turns) in 1 files, 2 skipped (1 multi-turn, 1 with tool calls) "
        f"to {tmp_path}"
    )


def test_approved_only_exports_what_a_reviewer_approved(tmp_path):
    conversation("Kept", "yes", review_state="approved")
    conversation("Unreviewed", "maybe", minutes=1)
    export(tmp_path, "--approved-only", "--format", "alpaca")
    assert text(tmp_path / "support" / "conversations.jsonl") == (
        '{"instruction":"Kept","input":"","output":"yes"}\n'
    )


def test_choose_picks_the_kind_of_reply_and_counts_fallbacks_to_the_original(tmp_path):
    edited = {"role": "assistant", "content": "edited"}
    both = conversation("A", "original A", edited_reply=edited)
    alternative(both, "big", "big A")
    alternative(both, "bigger", "bigger A")
    conversation("B", "original B", minutes=1)
    outputs = {}
    for choice in ("original", "edited", "relabelled"):
        summary, _ = export(tmp_path / choice, "--format", "alpaca", "--choose", choice)
        outputs[choice] = (text(tmp_path / choice / "support" / "conversations.jsonl"), summary)
    b = '{"instruction":"B","input":"","output":"original B"}\n'
    assert outputs["original"][0] == '{"instruction":"A","input":"","output":"original A"}\n' + b
    assert outputs["edited"][0] == '{"instruction":"A","input":"","output":"edited"}\n' + b
    assert outputs["relabelled"][0] == '{"instruction":"A","input":"","output":"bigger A"}\n' + b
    assert "with the original reply" not in outputs["original"][1]
    assert outputs["edited"][1].endswith(
        f"0 skipped, 1 with the original reply instead to {tmp_path / 'edited'}"
    )
    assert ", 1 with the original reply instead" in outputs["relabelled"][1]


def test_the_reviewers_pick_of_an_alternative_is_exported_with_its_model(tmp_path):
    row = conversation("A", "original")
    picked = alternative(row, "big", "big answer")
    alternative(row, "bigger", "bigger answer")
    row.chosen, row.chosen_alternative = Chosen.ALTERNATIVE, picked
    row.save()
    export(tmp_path)
    assert text(tmp_path / "support" / "conversations.jsonl") == (
        '{"messages":[{"role":"user","content":"A"},{"role":"assistant","content":"big answer"}],'
        '"timestamp":"2026-05-01T12:00:00Z","model":"big","workflow_id":"support"}\n'
    )


def test_dedupe_skips_repeated_and_nearly_repeated_prompts_keeping_the_first(tmp_path):
    long = "Please summarise the attached quarterly report for the board in five bullet points"
    conversation(long, "first")
    conversation(long.upper() + "!", "exact after normalising", minutes=1)
    conversation(long.replace("five", "six"), "near", minutes=2)
    conversation("Something else entirely, about cooking pasta", "other", minutes=3)
    summary, _ = export(tmp_path, "--dedupe", "--format", "alpaca")
    outputs = [
        line.split('"output":')[1]
        for line in text(tmp_path / "support" / "conversations.jsonl").splitlines()
    ]
    assert outputs == ['"first"}', '"other"}']
    assert "2 sessions (2 turns) in 1 files, 2 skipped (2 duplicates)" in summary
    export(tmp_path / "exact", "--dedupe", "--similarity", "1", "--format", "alpaca")
    assert len(text(tmp_path / "exact" / "support" / "conversations.jsonl").splitlines()) == 3


def test_scrub_hides_addresses_and_keys_before_writing(tmp_path):
    conversation(
        "Mail bob@example.com with key sk-abcdefghijklmnop123456", "Done, +44 20 7946 0958"
    )
    export(tmp_path, "--scrub", "--format", "alpaca")
    assert text(tmp_path / "support" / "conversations.jsonl") == (
        '{"instruction":"Mail [email] with key [key]","input":"","output":"Done, [phone]"}\n'
    )


def test_split_writes_train_and_validation_files_deterministically(tmp_path):
    for n in range(20):
        conversation(f"Question {n}", f"Answer {n}", minutes=n, request_id=rid(n))
    summary, files = export(tmp_path / "a", "--split", "0.7", "--format", "alpaca")
    export(tmp_path / "b", "--split", "0.7", "--format", "alpaca")
    export(tmp_path / "c", "--split", "0.7", "--seed", "1", "--format", "alpaca")

    def expected(seed: int, part: str) -> str:
        return "".join(
            f'{{"instruction":"Question {n}","input":"","output":"Answer {n}"}}\n'
            for n in range(20)
            if (split_of(str(rid(n)), seed, 0.7) == TRAIN) == (part == "train")
        )

    for part in ("train", "validation"):
        written = text(tmp_path / "a" / "support" / f"{part}.jsonl")
        assert written == expected(0, part)
        assert written == text(tmp_path / "b" / "support" / f"{part}.jsonl")
        assert text(tmp_path / "c" / "support" / f"{part}.jsonl") == expected(1, part)
    assert expected(0, "train") != expected(1, "train")
    assert not (tmp_path / "a" / "support" / "conversations.jsonl").exists()
    train = len(expected(0, "train").splitlines())
    assert summary.startswith("Exported 20 sessions (20 turns) in 2 files")
    assert f"train.jsonl: {train} sessions, {train} turns, {train * 8} tokens" in files
    assert (
        f"validation.jsonl: {20 - train} sessions, {20 - train} turns, {(20 - train) * 8} tokens"
        in files
    )


@pytest.mark.parametrize("value", ["0", "1", "1.5", "x"])
def test_a_split_must_be_a_share_between_zero_and_one(tmp_path, value):
    with pytest.raises(CommandError, match="share"):
        export(tmp_path, "--split", value)
