"""The real openai client's `responses` against a running gateway and the fake upstream.

The session gateway sends every model to the fake upstream, whose model names script the
reply (echo, inspect, agent, think, reasoning-content, ...); `reasoning+X` is routed to `echo+X`
with the route's think mode set to reasoning.
"""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from pydantic import BaseModel

pytestmark = pytest.mark.e2e

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def upstream_body(response) -> dict:
    """What the fake upstream received, as the `inspect` model tells it."""
    return json.loads(response.output_text)["body"]


def test_a_plain_response_comes_back(client):
    response = client.responses.create(model="echo", input="Hello there, responses!")
    assert response.output_text == "Hello there, responses!"
    assert response.status == "completed" and response.model == "echo"
    assert response.id.startswith("resp_") and response.output[0].type == "message"
    assert response.usage.output_tokens > 0 and response.usage.total_tokens > 0


def test_instructions_become_the_first_system_message(client):
    response = client.responses.create(
        model="inspect", instructions="Answer in French.", input="Hello", max_output_tokens=64
    )
    body = upstream_body(response)
    assert body["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hello"},
    ]
    assert body["max_tokens"] == 64
    assert response.instructions == "Answer in French."


def test_a_streamed_response_follows_the_event_order(client):
    stream = client.responses.create(model="echo+chunk:4", input="Streaming works!", stream=True)
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["Stre", "amin", "g wo", "rks!"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == "Streaming works!"
    assert events[-1].response.usage.output_tokens > 0


def test_the_stream_helper_assembles_the_final_response(client):
    with client.responses.stream(model="echo+chunk:3", input="helper text") as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == "helper text" and final.output_text == "helper text"


def test_a_function_call_and_its_output_make_a_turn(client):
    first = client.responses.create(
        model="agent", input='CALL get_weather {"city": "Paris"}', tools=[WEATHER]
    )
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    second = client.responses.create(
        model="agent",
        tools=[WEATHER],
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "Done. The tool said: sunny"


def test_a_streamed_function_call_without_stored_state(client):
    items = [{"role": "user", "content": 'CALL get_weather {"city": "Oslo"}'}]
    stream = client.responses.create(
        model="agent+chunk:5", input=items, tools=[WEATHER], store=False, stream=True
    )
    events = list(stream)
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert "".join(pieces) == '{"city": "Oslo"}' and len(pieces) > 1
    call = events[-1].response.output[0]
    items += [
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "snow"},
    ]
    answer = client.responses.create(model="agent", input=items, tools=[WEATHER], store=False)
    assert answer.output_text == "Done. The tool said: snow"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(answer.id)


def test_previous_response_id_chains_the_conversation(client):
    one = client.responses.create(model="echo", input="first", instructions="be kind")
    two = client.responses.create(model="echo", input="second", previous_response_id=one.id)
    three = client.responses.create(model="inspect", input="third", previous_response_id=two.id)
    messages = upstream_body(three)["messages"]
    assert messages == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "second"},
        {"role": "user", "content": "third"},
    ]  # instructions are not carried over


def test_retrieve_delete_and_input_items(client):
    made = client.responses.create(model="echo", input=[{"role": "user", "content": "keep me"}])
    assert client.responses.retrieve(made.id).output_text == "keep me"
    items = list(client.responses.input_items.list(made.id))
    assert [i.content[0].text for i in items] == ["keep me"] and items[0].role == "user"
    follow = client.responses.create(model="echo", input="and me", previous_response_id=made.id)
    texts = [
        (i.type, i.content[0].text)
        for i in client.responses.input_items.list(follow.id, order="asc", limit=1)
    ]  # one per page: the client follows `after`
    assert texts == [("message", "keep me"), ("message", "keep me"), ("message", "and me")]
    client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError) as gone:
        client.responses.retrieve(made.id)
    assert gone.value.body["type"] == "invalid_request_error"


def test_text_format_json_schema_reaches_the_upstream_and_parses(client):
    class Answer(BaseModel):
        city: str
        degrees: int

    parsed = client.responses.parse(
        model="echo", input='{"city": "Rome", "degrees": 21}', text_format=Answer
    )
    assert parsed.output_parsed == Answer(city="Rome", degrees=21)
    schema = {"type": "json_schema", "name": "answer", "schema": {"type": "object"}}
    seen = upstream_body(
        client.responses.create(model="inspect", input="x", text={"format": schema})
    )
    assert seen["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}},
    }


def test_reasoning_items_from_think_tags(client):
    asked = client.responses.create(
        model="echo+think", input="The answer.", reasoning={"summary": "auto"}
    )
    reasoning, _message = asked.output
    assert reasoning.type == "reasoning"
    assert reasoning.summary[0].text == "Let me think about this."
    assert asked.output_text == "The answer."
    routed = client.responses.create(model="reasoning+think+chunk:3", input="Tags.", stream=True)
    final = list(routed)[-1].response
    assert final.output[0].content[0].text == "Let me think about this."
    assert final.output[0].summary == [] and final.output_text == "Tags."
    hidden = client.responses.create(model="echo+think", input="No thinking shown.")
    assert [i.type for i in hidden.output] == ["message"]
    assert hidden.output_text == "No thinking shown."


THOUGHT = "First, I read the question. Then I answer it."  # the fake's reasoning_content


def test_reasoning_items_from_reasoning_content(client):
    whole = client.responses.create(model="echo+reasoning-content", input="Answer.")
    assert whole.output[0].content[0].text == THOUGHT
    assert whole.output_text == "Answer."
    stream = client.responses.create(
        model="echo+reasoning-content",
        input="Streamed.",
        stream=True,
        reasoning={"summary": "auto"},
    )
    events = list(stream)
    summary = [e.delta for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(summary) == THOUGHT
    assert events[-1].response.output_text == "Streamed."


def test_errors_come_in_openai_shape(client):
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(model="echo", input="x", previous_response_id="resp_unknown")
    assert missing.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="echo", input=[{"role": "wizard", "content": "x"}])
    assert bad.value.body["param"] == "input[0].role"
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="status:500", input="x")
    broken = list(
        client.responses.create(model="echo+drop-after:3", input="a b c d e", stream=True)
    )
    assert broken[-1].type == "response.failed"
    assert broken[-1].response.error.message


def test_responses_show_in_the_metrics_by_service(client, gateway_url):
    client.responses.create(model="echo", input="count me")
    deadline = time.monotonic() + 15
    while 'service="responses"' not in (text := httpx.get(f"{gateway_url}/metrics").text):
        assert time.monotonic() < deadline, text[:500]
        time.sleep(0.05)


def test_think_tags_split_at_every_point_become_reasoning_never_text(client):
    said = "<think>secret plan</think>The answer is 42."
    for cut in range(len(said) + 1):
        events = list(
            client.responses.create(
                model=f"echo+split:{cut}", input=said, stream=True, reasoning={"summary": "auto"}
            )
        )
        final = events[-1].response
        assert final.output_text == "The answer is 42.", cut
        assert final.output[0].summary[0].text == "secret plan", cut
