"""Pure curation: each automatic rule, verdict updates, tags, duplicate detection, scrubbing."""

from __future__ import annotations

import pytest

from recording.curation import (
    DEFAULT_PATTERNS,
    RuleError,
    Rules,
    compile_rules,
    fired_rule,
    join_tags,
    parse_tags,
    review_update,
    stored_tags,
)
from recording.dedupe import (
    Deduper,
    first_like_conversation,
    normalize,
    prompt_parts,
    signature,
    similarity,
)
from recording.scrub import scrub, scrub_text

DEFAULTS = compile_rules(Rules())


def fired(text: str, finish: str = "stop", tokens: int | None = 10, rules=DEFAULTS, **reply):
    return fired_rule(rules, {"role": "assistant", "content": text, **reply}, finish, tokens)


# --- rules ------------------------------------------------------------------------------
def test_a_plain_answer_breaks_no_rule():
    assert fired("Paris is the capital of France.") is None


def test_a_reply_cut_off_by_length_is_rejected():
    assert fired("Once upon a", finish="length") == "cut off (finish_reason length)"


def test_an_empty_or_blank_reply_is_rejected_but_a_tool_call_is_not_empty():
    assert fired("") == "empty reply"
    assert fired("  \n ") == "empty reply"
    call = {"type": "function", "function": {"name": "f", "arguments": "{}"}}
    assert fired("", tool_calls=[call]) is None


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "I\u2019m sorry, but I cannot do this.",  # typographic apostrophe
        "As an AI language model, I have no opinions.",
        "Well. I can't assist with that request.",
        "Error: the upstream timed out",
        "  exception raised while thinking",
    ],
)
def test_default_patterns_catch_refusals_and_errors(text):
    assert fired(text).startswith("pattern: ")


def test_an_error_mentioned_inside_an_answer_is_not_an_error_reply():
    assert fired("To fix this error, restart the server.") is None


def test_patterns_are_case_insensitive_and_name_the_pattern_that_fired():
    rules = compile_rules(Rules(patterns=("lorem ipsum",)))
    assert fired("LOREM IPSUM dolor", rules=rules) == "pattern: lorem ipsum"
    assert fired("As an AI", rules=rules) is None  # only this workflow's own patterns


def test_too_short_and_too_long_in_characters():
    rules = compile_rules(Rules(patterns=(), min_chars=5, max_chars=10))
    assert fired("abcd", rules=rules) == "under 5 characters"
    assert fired("abcde", rules=rules) is None
    assert fired("abcdefghijk", rules=rules) == "over 10 characters"


def test_too_few_and_too_many_tokens_and_unknown_counts_pass():
    rules = compile_rules(Rules(patterns=(), min_tokens=3, max_tokens=100))
    assert fired("fine", tokens=2, rules=rules) == "under 3 tokens"
    assert fired("fine", tokens=101, rules=rules) == "over 100 tokens"
    assert fired("fine", tokens=None, rules=rules) is None


def test_switched_off_rules_do_not_fire():
    rules = compile_rules(Rules(reject_cut_off=False, reject_empty=False, patterns=()))
    assert fired("", finish="length", rules=rules) is None


def test_a_pattern_re2_refuses_is_a_rule_error():
    with pytest.raises(RuleError, match="invalid pattern"):
        compile_rules(Rules(patterns=("(a",)))
    with pytest.raises(RuleError):
        compile_rules(Rules(patterns=(r"(\w)\1",)))  # back-references: not in RE2


def test_the_default_patterns_compile():
    assert len(compile_rules(Rules()).patterns) == len(DEFAULT_PATTERNS)


# --- verdicts ---------------------------------------------------------------------------
def test_a_fired_rule_rejects_a_row_nobody_reviewed():
    assert review_update("new", "", reviewed=False, fired="empty reply") == (
        "rejected",
        "empty reply",
    )


def test_a_persons_verdict_is_never_overridden():
    assert review_update("approved", "", reviewed=True, fired="empty reply") is None


def test_a_row_rejected_by_a_rule_that_no_longer_fires_goes_back_to_review():
    assert review_update("rejected", "empty reply", reviewed=False, fired=None) == ("new", "")


def test_nothing_changes_when_nothing_would():
    assert review_update("new", "", reviewed=False, fired=None) is None
    assert review_update("rejected", "empty reply", reviewed=False, fired="empty reply") is None


def test_tags_are_trimmed_lowered_deduplicated_and_stored_between_commas():
    tags = parse_tags(" Good , needs  work,good,,")
    assert tags == ["good", "needs work"]
    assert join_tags(tags) == ",good,needs work,"
    assert stored_tags(",good,needs work,") == tags
    assert join_tags([]) == ""


# --- duplicates -------------------------------------------------------------------------
LONG = (
    "Write a short poem about the sea and the wind at night, in the style of an old "
    "sailor who misses his home port and the people he left there many years ago."
)


def chat(user: str, system: str = "", reply: str = "ok") -> list[dict]:
    head = [{"role": "system", "content": system}] if system else []
    return [*head, {"role": "user", "content": user}, {"role": "assistant", "content": reply}]


def test_normalising_lowers_drops_punctuation_and_collapses_whitespace():
    assert normalize("  Hello,\n\tWORLD!!  (again) ") == "hello world again"


def test_the_prompt_leaves_out_the_final_reply_and_keeps_the_system_apart():
    system, dialogue = prompt_parts(chat("Hi", system="Be brief", reply="Hello"))
    assert system == "system Be brief "
    assert dialogue == "user Hi "


def test_exact_duplicates_after_normalising_point_to_the_first():
    deduper = Deduper(threshold=1.0)
    assert deduper.first_like(1, "Tell me a story.") is None
    assert deduper.first_like(2, "tell me   a STORY") == 1
    assert deduper.first_like(3, "Tell me a joke") is None


def test_near_duplicates_are_found_and_different_prompts_are_not():
    deduper = Deduper(threshold=0.7)
    assert deduper.first_like("a", LONG) is None
    assert deduper.first_like("b", LONG.replace("short", "brief")) == "a"
    assert deduper.first_like("c", LONG.replace("misses", "longs for")) == "a"
    other = "Explain how a hash table works and when a balanced tree is the better choice."
    assert deduper.first_like("d", other) is None


def test_an_exact_threshold_ignores_near_duplicates():
    deduper = Deduper(threshold=1.0)
    deduper.first_like("a", LONG)
    assert deduper.first_like("b", LONG.replace("short", "brief")) is None


def test_the_similarity_estimate_tracks_how_much_two_prompts_share():
    base = signature(normalize(LONG))
    assert similarity(base, base) == 1.0
    close = similarity(base, signature(normalize(LONG + " Thank you.")))
    far = similarity(base, signature(normalize("What is the boiling point of water?")))
    assert close > 0.75 > 0.2 > far


def test_a_shared_system_prompt_does_not_make_different_questions_duplicates():
    system = "You are a helpful support agent for ACME. " * 40
    deduper = Deduper()
    assert first_like_conversation(deduper, 1, chat("Where is my parcel?", system)) is None
    assert first_like_conversation(deduper, 2, chat("How do I reset my password?", system)) is None
    assert first_like_conversation(deduper, 3, chat("where is my parcel", system)) == 1
    assert first_like_conversation(deduper, 4, chat("where is my parcel", "Other")) is None


def test_a_threshold_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError):
        Deduper(threshold=0)


# --- scrubbing --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail john.doe+x@example.co.uk now", "mail [email] now"),
        ("key sk-proj-abcdefghijklmnop1234 ok", "key [key] ok"),
        ("Authorization: Bearer abc.def-ghi12345", "Authorization: Bearer [key]"),
        ("sha 0123456789abcdef0123456789abcdef!", "sha [key]!"),
        ("tok dGhpcyBpcyBhIHRlc3QgdG9rZW4gd2l0aCAxMjM0NTY3ODk=", "tok [key]"),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws [key]"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [key]"),
        ("call +44 20 7946 0958 now", "call [phone] now"),
        ("call (555) 123-4567 now", "call [phone] now"),
        ("ruf 030 1234567 an", "ruf [phone] an"),
    ],
)
def test_scrubbing_hides_addresses_phones_and_keys(text, expected):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "On 2026-05-01 at 12:30, version 1.2.3 shipped 12345678 items.",
        "/usr/lib/python3.12/site-packages/django/contrib/admin/templates",
        "internationalization_and_localization_settings_for_everyone",
        "Call me at 5 or 6.",
    ],
)
def test_scrubbing_leaves_ordinary_text_alone(text):
    assert scrub_text(text) == text


def test_scrubbing_a_conversation_keeps_ids_roles_and_names():
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "me: a@b.io"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0123456789abcdef0123456789abcdef",
                    "type": "function",
                    "function": {"name": "mail", "arguments": '{"to": "a@b.io"}'},
                }
            ],
        },
    ]
    scrubbed = scrub(messages)
    assert scrubbed[0]["content"][0] == {"type": "text", "text": "me: [email]"}
    call = scrubbed[1]["tool_calls"][0]
    assert call["id"] == "call_0123456789abcdef0123456789abcdef"
    assert call["function"] == {"name": "mail", "arguments": '{"to": "[email]"}'}
    assert messages[0]["content"][0]["text"] == "me: a@b.io"  # the input is left as it was
