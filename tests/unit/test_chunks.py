"""Pure transforms of completion bodies and stream chunks."""

from __future__ import annotations

from routing.rules.engine import Transforms
from routing.streams.chunks import TEXT, ChunkTransformer, transform_completion


def chat_chunk(content=None, finish=None, index=0, **delta):
    if content is not None:
        delta["content"] = content
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def run(transformer, chunks):
    sent = [c for c in chunks if transformer.apply(c)]
    sent += transformer.finish()
    return sent


def text_of(sent, key="content"):
    return "".join(
        c["choices"][0].get("delta", c["choices"][0]).get(key) or "" for c in sent if c["choices"]
    )


def test_a_whole_reply_loses_its_think_block():
    body = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "<think>x</think>Hi"}}]
    }
    assert transform_completion(body, Transforms(), "chat") is True
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}


def test_thinking_can_move_to_reasoning_content():
    body = {"choices": [{"index": 0, "message": {"content": "<think>why</think>Hi"}}]}
    transform_completion(body, Transforms(think="reasoning"), "chat")
    assert body["choices"][0]["message"] == {"content": "Hi", "reasoning_content": "why"}


def test_unchanged_replies_report_no_change():
    body = {"choices": [{"index": 0, "message": {"content": "plain", "tool_calls": None}}]}
    assert transform_completion(body, Transforms(), "chat") is False


def test_text_completions_are_transformed_too():
    body = {"choices": [{"index": 0, "text": '```json\n{"a":1}\n```'}]}
    transform_completion(body, Transforms(think="keep", json_fence=True), TEXT)
    assert body["choices"][0]["text"] == '{"a":1}'


def test_a_stream_drops_chunks_emptied_by_the_stripper_and_keeps_the_rest():
    transformer = ChunkTransformer(Transforms())
    chunks = [
        chat_chunk("", role="assistant"),
        chat_chunk("<think>"),
        chat_chunk("hmm"),
        chat_chunk("</think>Hel"),
        chat_chunk("lo"),
        chat_chunk(finish="stop"),
    ]
    sent = run(transformer, chunks)
    assert text_of(sent) == "Hello"
    assert len(sent) == 4  # role chunk, "Hel", "lo", finish
    assert sent[-1]["choices"][0]["finish_reason"] == "stop"


def test_held_back_text_is_released_with_the_finish_chunk():
    transformer = ChunkTransformer(Transforms())
    sent = run(transformer, [chat_chunk("a <thi"), chat_chunk(finish="stop")])
    assert text_of(sent) == "a <thi"
    assert sent[-1]["choices"][0]["delta"]["content"] == "<thi"


def test_held_back_text_is_flushed_when_a_stream_ends_without_finish():
    transformer = ChunkTransformer(Transforms())
    sent = run(transformer, [chat_chunk("a <thi")])
    assert text_of(sent) == "a <thi"
    assert sent[-1]["id"] == "c"


def test_each_choice_has_its_own_state():
    transformer = ChunkTransformer(Transforms())
    chunks = [
        chat_chunk("<think>", index=0),
        chat_chunk("A", index=1),
        chat_chunk("x</think>B", index=0),
        chat_chunk("C", index=1),
    ]
    sent = run(transformer, chunks)
    by_index = {0: "", 1: ""}
    for chunk in sent:
        choice = chunk["choices"][0]
        by_index[choice["index"]] += choice["delta"].get("content", "")
    assert by_index == {0: "B", 1: "AC"}


def test_stream_thinking_goes_to_reasoning_content_in_order():
    transformer = ChunkTransformer(Transforms(think="reasoning"))
    sent = run(transformer, [chat_chunk("<think>wh"), chat_chunk("y</think>ok")])
    assert text_of(sent, "reasoning_content") == "why"
    assert text_of(sent) == "ok"


def test_usage_chunks_without_choices_pass():
    transformer = ChunkTransformer(Transforms())
    usage = {"id": "c", "choices": [], "usage": {"completion_tokens": 3}}
    assert transformer.apply(usage) is True


def test_tool_call_chunks_are_kept_untouched():
    transformer = ChunkTransformer(Transforms())
    call = chat_chunk(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": "{}"}}])
    assert transformer.apply(call) is True
    assert "content" not in call["choices"][0]["delta"]
