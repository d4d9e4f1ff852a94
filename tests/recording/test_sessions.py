"""An agent session is captured as one conversation, however many turns it takes."""

from __future__ import annotations

import httpx
import pytest

from recording.models import Conversation
from recording.writer import Writer
from routing.core.exchange import OK, Exchange
from routing.rules.engine import Decision, Transforms, UpstreamSpec

pytestmark = pytest.mark.django_db(transaction=True)

ASK = {"role": "user", "content": "CALL Bash {}"}


def call(n: int) -> dict:
    function = {"name": "Bash", "arguments": f'{{"n": {n}}}'}
    return {"id": f"c{n}", "type": "function", "function": function}


def turn(history: list[dict], reply: dict, workflow: str = "agents") -> Exchange:
    """A finished exchange whose prompt is `history` and whose reply is `reply`."""
    x = Exchange(
        service="anthropic",
        endpoint="/v1/messages",
        kind="chat",
        client="1.2.3.4",
        model_in="m",
        decision=Decision(UpstreamSpec("u", "http://u"), "m", Transforms()),
        stream=False,
        body={"messages": history},
        client_body={"messages": history},
        workflow=workflow,
        usage={"prompt_tokens": 10 * len(history), "completion_tokens": 5},
    )
    x.reply.feed_completion({"choices": [{"message": reply, "finish_reason": "stop"}]})
    x.finish(OK, 200)
    return x


def session(turns: int) -> list[Exchange]:
    """The exchanges of an agent session: a tool call per turn, then an answer."""
    history, out = [ASK], []
    for n in range(turns - 1):
        reply = {"role": "assistant", "content": "", "tool_calls": [call(n)]}
        out.append(turn(list(history), reply))
        history += [reply, {"role": "tool", "tool_call_id": f"c{n}", "content": f"out {n}"}]
    out.append(turn(list(history), {"role": "assistant", "content": "Finished."}))
    return out


def record(writer: Writer, exchanges: list[Exchange], one_batch: bool) -> None:
    for x in exchanges:
        writer.submit("finish", x)
        if not one_batch:
            assert writer.flush(5)
    assert writer.flush(5)


@pytest.mark.parametrize("one_batch", [True, False], ids=["one batch", "a batch per turn"])
def test_a_session_of_many_turns_is_one_conversation(one_batch):
    exchanges = session(6)
    record(Writer(), exchanges, one_batch)
    (conversation,) = Conversation.objects.all()
    assert conversation.turns == 6
    assert len(conversation.messages) == 1 + 5 * 2 + 1
    assert conversation.messages[-1]["content"] == "Finished."
    assert conversation.request_id == exchanges[-1].id
    assert conversation.completion_tokens == 6 * 5  # every reply the model wrote
    assert conversation.prompt_tokens == exchanges[-1].usage["prompt_tokens"]


def test_sessions_of_other_workflows_stay_apart():
    first = session(2)
    second = turn(first[-1].client_body["messages"], {"role": "assistant", "content": "Again."})
    second.workflow = "elsewhere"
    record(Writer(), [*first, second], one_batch=False)
    assert sorted(Conversation.objects.values_list("workflow", "turns")) == [
        ("agents", 2),
        ("elsewhere", 2),
    ]


def test_a_reviewed_conversation_is_kept_and_the_longer_one_added():
    first, second = session(2)
    writer = Writer()
    record(writer, [first], one_batch=False)
    Conversation.objects.update(review_state="approved")
    record(writer, [second], one_batch=False)
    assert sorted(Conversation.objects.values_list("turns", "review_state")) == [
        (1, "approved"),
        (2, "new"),
    ]


def test_two_sessions_that_share_nothing_are_two_conversations():
    one = session(2)
    other = [turn([{"role": "user", "content": "Hello"}], {"role": "assistant", "content": "Hi"})]
    record(Writer(), [*one, *other], one_batch=True)
    assert sorted(Conversation.objects.values_list("turns", flat=True)) == [1, 2]


TOOL_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}
    ],
}


@pytest.mark.parametrize(
    ("path", "extra"),
    [("/v1/chat/completions", {}), ("/api/chat", {"stream": False})],
    ids=["openai", "ollama"],
)
async def test_an_agent_loop_through_any_api_is_captured_once(
    gateway, upstream, recorded, path, extra
):
    from asgiref.sync import sync_to_async

    reply = {"choices": [{"index": 0, "message": TOOL_CALL, "finish_reason": "tool_calls"}]}
    answer = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ]
    }
    upstream.post("/v1/chat/completions").mock(
        side_effect=[httpx.Response(200, json=reply), httpx.Response(200, json=answer)]
    )
    ask = [{"role": "user", "content": "run it"}]
    await gateway.post(path, json={"model": "m", "messages": ask, **extra})
    await sync_to_async(recorded)()
    resent = {**TOOL_CALL, "content": ""}
    if path == "/api/chat":  # Ollama's tool calls carry their arguments as an object
        resent["tool_calls"] = [{"function": {"name": "Bash", "arguments": {}}}]
    history = [*ask, resent, {"role": "tool", "tool_call_id": "call_1", "content": "done"}]
    await gateway.post(path, json={"model": "m", "messages": history, **extra})
    await sync_to_async(recorded)()
    conversations = [c async for c in Conversation.objects.all()]
    assert [(c.turns, c.messages[-1]["content"]) for c in conversations] == [(2, "ok")]
