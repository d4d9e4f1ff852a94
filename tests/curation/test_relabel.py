"""`manage.py relabel` through the gateway's routing, upstreams mocked by respx."""

from __future__ import annotations

from io import StringIO

import httpx
import orjson
import pytest
from django.core.management import call_command

from recording.models import Alternative
from routing.models import Route
from tests.curation.helpers import conversation

pytestmark = pytest.mark.django_db(transaction=True)

TOOLS = [{"type": "function", "function": {"name": "lookup"}}]


def completion(request: httpx.Request) -> httpx.Response:
    body = orjson.loads(request.content)
    prompt = body["messages"][-1]["content"]
    if prompt == "refuse me":
        return httpx.Response(400, json={"error": {"message": "no", "type": "bad"}})
    data = {
        "id": "x",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"<think>hmm</think>better: {prompt}"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    }
    return httpx.Response(200, json=data)


@pytest.fixture
def chat(upstream):
    return upstream.post("/v1/chat/completions").mock(side_effect=completion)


def relabel(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("relabel", "--workflow", "support", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def sent(chat) -> list[dict]:
    return [orjson.loads(call.request.content) for call in chat.calls]


def test_each_prompt_is_asked_without_its_reply_and_the_answer_kept(chat):
    first = conversation("What is 2+2?", "5", tools=TOOLS)
    second = conversation("Capital of Peru?", "Lima", minutes=1)
    conversation("Not this workflow", "x", workflow="other")
    summary, _ = relabel("--model", "strong")
    assert summary == "relabelled 2, skipped 0 already done, 0 failed"
    bodies = sorted(sent(chat), key=lambda b: b["messages"][0]["content"])
    assert bodies[0]["messages"] == [{"role": "user", "content": "Capital of Peru?"}]
    assert bodies[1] == {
        "model": "strong",
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "stream": False,
        "tools": TOOLS,
    }
    answer = Alternative.objects.get(conversation=first)
    # The route's transforms apply as for any client: the think block is stripped.
    assert answer.message == {"role": "assistant", "content": "better: What is 2+2?"}
    assert (answer.model, answer.model_used, answer.finish_reason) == ("strong", "strong", "stop")
    assert (answer.prompt_tokens, answer.completion_tokens) == (4, 2)
    assert second.alternatives.count() == 1
    first.refresh_from_db()
    assert first.messages[-1] == {"role": "assistant", "content": "5"}  # the original stays


def test_a_second_run_skips_what_is_done_and_asks_nothing(chat):
    conversation("One")
    conversation("Two", minutes=1)
    relabel("--model", "strong")
    summary, _ = relabel("--model", "strong")
    assert summary == "relabelled 0, skipped 2 already done, 0 failed"
    assert chat.call_count == 2
    summary, _ = relabel("--model", "other-model", "--concurrency", "1")
    assert summary == "relabelled 2, skipped 0 already done, 0 failed"  # one answer per model


def test_limit_asks_at_most_that_many_and_the_rest_follow_later(chat):
    for n in range(5):
        conversation(f"Q{n}", minutes=n)
    assert relabel("--model", "strong", "--limit", "2")[0] == (
        "relabelled 2, skipped 0 already done, 0 failed"
    )
    assert relabel("--model", "strong")[0] == "relabelled 3, skipped 2 already done, 0 failed"
    assert chat.call_count == 5


def test_a_failed_request_is_counted_reported_and_asked_again_next_time(chat):
    conversation("fine")
    conversation("refuse me", minutes=1)
    summary, errors = relabel("--model", "strong")
    assert summary == "relabelled 1, skipped 0 already done, 1 failed"
    assert "failed: conversation" in errors
    summary, _ = relabel("--model", "strong")
    assert summary == "relabelled 0, skipped 1 already done, 1 failed"


def test_routes_decide_where_the_model_goes(chat):
    Route.objects.create(match_model="strong", rewrite_model="big-model-v2")
    row = conversation("Q")
    relabel("--model", "strong")
    assert sent(chat)[0]["model"] == "big-model-v2"
    answer = row.alternatives.get()
    assert (answer.model, answer.model_used) == ("strong", "big-model-v2")
