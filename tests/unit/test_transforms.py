"""Pure stream transforms: every split point of a text gives the whole-text result."""

from __future__ import annotations

import itertools

import pytest

from routing.streams.transforms import (
    JsonFenceStripper,
    ThinkStripper,
    add_no_think_to_messages,
    add_no_think_to_prompt,
    strip_json_fence,
    strip_think,
)


def feed_split(stripper, text: str, cuts: list[int]) -> str:
    bounds = [0, *cuts, len(text)]
    out = [stripper.feed(text[a:b]) for a, b in itertools.pairwise(bounds)]
    return "".join(out) + stripper.flush()


def every_split(text: str):
    for i in range(len(text) + 1):
        yield [i]
    for i in range(0, len(text) + 1, 3):
        for j in range(i, len(text) + 1, 2):
            yield [i, j]


THINK_CASES = [
    ("<think>plan it</think>The answer.", "The answer.", "plan it"),
    ("Before <think>x</think> after", "Before  after", "x"),
    ("<think>a</think>\n\nHi <think>b</think>there", "\n\nHi there", "ab"),
    ("</think>\n\nOrphan closing tag", "\n\nOrphan closing tag", ""),
    ("  </think>lead", "  lead", ""),
    ("No tags at all < > </ think", "No tags at all < > </ think", ""),
    ("a < b and <thin ice>", "a < b and <thin ice>", ""),
    ("Late </think> is kept", "Late </think> is kept", ""),
    ("<think>never closed", "", "never closed"),
    ("\n  keep\twhitespace  \n", "\n  keep\twhitespace  \n", ""),
]


@pytest.mark.parametrize(("text", "answer", "thinking"), THINK_CASES)
def test_it_strips_think_blocks_at_every_split_point(text, answer, thinking):
    assert strip_think(text) == (answer, thinking)
    for cuts in every_split(text):
        stripper = ThinkStripper()
        assert feed_split(stripper, text, cuts) == answer, cuts
        assert stripper.take_thinking() == thinking, cuts


def test_it_holds_back_only_a_possible_partial_tag():
    stripper = ThinkStripper()
    assert stripper.feed("Hello <thi") == "Hello "
    assert stripper.feed("s is not a tag") == "<this is not a tag"
    assert stripper.feed(" plain text") == " plain text"


def test_it_emits_text_after_the_block_without_waiting():
    stripper = ThinkStripper()
    assert stripper.feed("<think>reason") == ""
    assert stripper.feed("ing</think>Ans") == "Ans"
    assert stripper.feed("wer") == "wer"
    assert stripper.take_thinking() == "reasoning"


def test_it_feeds_one_character_at_a_time():
    text = "<think>deep</think>Result: <b>ok</b>"
    stripper = ThinkStripper()
    assert "".join(stripper.feed(c) for c in text) + stripper.flush() == "Result: <b>ok</b>"


FENCE_CASES = [
    ('```json\n{"a": 1}\n```', '{"a": 1}'),
    ("\n\n```JSON  \n[1, 2]\n```\n", "[1, 2]"),
    ('```json\r\n{"k": "v"}\r\n```', '{"k": "v"}'),
    ('```json\n{"code": "```"}\n```', '{"code": "```"}'),
    ("Just text, no fence", "Just text, no fence"),
    ("```python\nprint(1)\n```", "```python\nprint(1)\n```"),
    ("`inline` code", "`inline` code"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), FENCE_CASES)
def test_it_unfences_json_at_every_split_point(text, expected):
    assert strip_json_fence(text) == expected
    for cuts in every_split(text):
        assert feed_split(JsonFenceStripper(), text, cuts) == expected, cuts


def test_it_keeps_a_reply_with_text_after_the_fence_whole():
    text = '```json\n{"a": 1}\n```\nThat is all.'
    assert strip_json_fence(text) == text


def test_json_fence_streams_the_body_before_the_closing_fence():
    stripper = JsonFenceStripper()
    assert stripper.feed("```js") == ""
    assert stripper.feed('on\n{"a": ') == '{"a":'  # trailing space: could precede the fence
    assert stripper.feed("1}\n``") == " 1}"
    assert stripper.feed("`") == ""
    assert stripper.flush() == ""


def test_plain_text_passes_as_soon_as_it_cannot_be_a_fence():
    stripper = JsonFenceStripper()
    assert stripper.feed("  ") == ""
    assert stripper.feed("Hi") == "  Hi"
    assert stripper.feed(" there") == " there"


def test_no_think_goes_on_the_last_user_message():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url"}]},
    ]
    out = add_no_think_to_messages(messages)
    assert out[1]["content"] == "first"
    assert out[3]["content"][0]["text"] == "look /no_think"
    assert messages[3]["content"][0]["text"] == "look"  # the input is not modified


def test_no_think_is_added_once_to_prompts():
    assert add_no_think_to_prompt("Tell me") == "Tell me /no_think"
    assert add_no_think_to_prompt("Tell me /no_think") == "Tell me /no_think"
    assert add_no_think_to_prompt(["a", "b"]) == ["a /no_think", "b /no_think"]
