"""POST /v1/responses in-process with respx upstreams: translation, recording, cache, errors,
and upstreams that speak the Responses API."""

from __future__ import annotations

import json
import logging

import httpx
import respx
from asgiref.sync import sync_to_async

from recording.models import Conversation
from routing.models import Route, Upstream
from tests.routing.helpers import chat_reply, sent_json, sse_response

RESPONSES = "/v1/responses"
CANARY = "sk-canary-authorization-0123456789"


async def test_reasoning_effort_goes_on_only_where_the_route_says(gateway, upstream):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    body = {"model": "m", "input": "x", "reasoning": {"effort": "high", "summary": "auto"}}
    await gateway.post(RESPONSES, json=body)
    assert "reasoning_effort" not in sent_json(route) and "reasoning" not in sent_json(route)
    await Route.objects.acreate(match_model="m", reasoning_effort=True)
    await gateway.post(RESPONSES, json=body)
    assert sent_json(route)["reasoning_effort"] == "high"


async def test_hosted_tools_are_left_out_with_a_note_in_the_log(gateway, upstream, caplog):
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("ok"))
    tools = [{"type": "web_search"}, {"type": "function", "name": "f"}]
    with caplog.at_level(logging.INFO, logger="routing.apis.responses.views"):
        answer = await gateway.post(RESPONSES, json={"model": "m", "input": "x", "tools": tools})
    assert answer.status_code == 200 and answer.json()["tools"] == tools
    assert [t["function"]["name"] for t in sent_json(route)["tools"]] == ["f"]
    assert "hosted tools left out" in caplog.text and "web_search" in caplog.text


async def test_the_request_is_recorded_as_the_responses_service_with_its_training_data(
    gateway, upstream, recorded
):
    call = {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
    upstream.post("/v1/chat/completions").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "choices": [
                        {
                            "message": {"role": "assistant", "tool_calls": [call]},
                            "finish_reason": "tool_calls",
                        }
                    ],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 3},
                },
            ),
            sse_response(["two ", "files"]),
        ]
    )
    tools = [{"type": "function", "name": "ls"}]
    first = await gateway.post(RESPONSES, json={"model": "m", "input": "list", "tools": tools})
    assert first.json()["output"][0]["type"] == "function_call"
    follow = {
        "model": "m",
        "tools": tools,
        "stream": True,
        "previous_response_id": first.json()["id"],
        "input": [{"type": "function_call_output", "call_id": "c1", "output": "a b"}],
    }
    streamed = await gateway.post(RESPONSES, json=follow)
    assert "response.completed" in streamed.text
    second, one = await sync_to_async(recorded)(2)
    assert (one.service, one.kind, one.prompt_tokens, one.completion_tokens) == (
        "responses",
        "chat",
        7,
        3,
    )
    conversation = await Conversation.objects.aget(request_id=second.pk)
    assert conversation.messages == [
        {"role": "user", "content": "list"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "a b"},
        {"role": "assistant", "content": "two files"},
    ]
    assert conversation.tools[0]["function"]["name"] == "ls"


async def test_a_cached_answer_is_a_new_response(gateway, upstream, settings):
    settings.CACHE_ENABLED = True
    route = upstream.post("/v1/chat/completions").respond(json=chat_reply("cached"))
    body = {"model": "m", "input": "same"}
    first = await gateway.post(RESPONSES, json=body)
    again = await gateway.post(RESPONSES, json={**body, "stream": True})
    assert route.call_count == 1 and again.headers["x-cache"] == "HIT"
    assert first.json()["id"] not in again.text and '"delta":"cached"' in again.text


async def test_a_stream_broken_midway_ends_with_response_failed(gateway, upstream):
    body = b'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'

    class Breaks(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield body
            raise httpx.ReadError("gone")

    upstream.post("/v1/chat/completions").respond(
        200, stream=Breaks(), headers={"content-type": "text/event-stream"}
    )
    answer = await gateway.post(RESPONSES, json={"model": "m", "input": "x", "stream": True})
    events = [
        json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")
    ]
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "par"


async def test_errors_are_in_openai_shape(gateway, upstream):
    bad = await gateway.post(
        RESPONSES, content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    unknown = await gateway.post(
        RESPONSES, json={"model": "m", "input": "x", "previous_response_id": "resp_nope"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "previous_response_not_found"
    upstream.post("/v1/chat/completions").respond(429, json={"error": {"message": "slow down"}})
    limited = await gateway.post(RESPONSES, json={"model": "m", "input": "x"})
    assert limited.status_code == 429 and limited.json()["error"]["message"] == "slow down"


async def test_an_upstream_that_speaks_responses_gets_the_request_untranslated(gateway, upstream):
    await Upstream.objects.acreate(name="native", base_url="http://native.test", api="responses")
    await Route.objects.acreate(
        match_model="codex",
        upstream=await Upstream.objects.aget(name="native"),
        rewrite_model="gpt-x",
    )
    local = upstream.post("/v1/chat/completions").respond(json=chat_reply("here"))
    earlier = await gateway.post(RESPONSES, json={"model": "m", "input": "before"})
    theirs = {
        "id": "resp_upstream_1",
        "object": "response",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "m1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "native!"}],
            }
        ],
        "usage": {"input_tokens": 4, "output_tokens": 1},
    }
    with respx.mock as mock:
        native = mock.post("http://native.test/v1/responses").respond(json=theirs)
        got = mock.get("http://native.test/v1/responses/resp_upstream_1").respond(json=theirs)
        body = {
            "model": "codex",
            "input": "now",
            "reasoning": {"summary": "auto"},
            "previous_response_id": earlier.json()["id"],
        }
        answer = await gateway.post(RESPONSES, json=body)
        assert answer.json() == theirs
        sent = sent_json(native)
        assert sent["model"] == "gpt-x" and sent["reasoning"] == {"summary": "auto"}
        assert "previous_response_id" not in sent  # stored here: sent along as items
        assert [i["content"][0]["text"] for i in sent["input"][:2]] == ["before", "here"]
        assert sent["input"][2] == {"type": "message", "role": "user", "content": "now"}
        retrieved = await gateway.get(f"{RESPONSES}/resp_upstream_1")
        assert retrieved.json() == theirs and got.called
    assert local.call_count == 1


def test_the_routes_file_says_which_routes_take_reasoning_effort(db, tmp_path):
    from io import StringIO

    import yaml
    from django.core.management import call_command

    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n- match: {model: gpt-oss}\n  route: {reasoning_effort: true}\n"
        "- match: {model: qwen}\n  route: {model: qwen3}\n"
    )
    call_command("import_routes", str(path), stdout=StringIO())
    assert list(Route.objects.values_list("reasoning_effort", flat=True)) == [True, False]
    out = StringIO()
    call_command("export_routes", stdout=out)
    routes = yaml.safe_load(out.getvalue())["routes"]
    assert routes[0]["route"] == {"reasoning_effort": True}
    assert "reasoning_effort" not in routes[1]["route"]


def native_events(response_id: str) -> bytes:
    frame = {"id": response_id, "object": "response", "status": "in_progress", "output": []}
    item = {"type": "message", "id": "m1", "role": "assistant", "content": []}
    done = {
        **frame,
        "status": "completed",
        "output": [{**item, "content": [{"type": "output_text", "text": "hi"}]}],
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    events = [
        {"type": "response.created", "response": frame},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_text.delta", "output_index": 0, "delta": "hi"},
        {"type": "response.completed", "response": done},
    ]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


async def test_a_native_stream_is_relayed_and_what_cannot_be_translated_still_goes(
    gateway, upstream, recorded
):
    native = await Upstream.objects.acreate(
        name="native", base_url="http://native.test", api="responses"
    )
    await Route.objects.acreate(match_model="codex", upstream=native)
    file_input = [
        {
            "role": "user",
            "content": [
                {"type": "input_file", "file_id": "file-1"},
                {"type": "input_text", "text": "sum up"},
            ],
        }
    ]
    with respx.mock as mock:
        sent = mock.post("http://native.test/v1/responses").respond(
            200, content=native_events("resp_n1"), headers={"content-type": "text/event-stream"}
        )
        deleted = mock.delete("http://native.test/v1/responses/resp_n1").respond(
            json={"id": "resp_n1", "object": "response", "deleted": True}
        )
        answer = await gateway.post(
            RESPONSES, json={"model": "codex", "input": file_input, "stream": True}
        )
        assert answer.status_code == 200 and "event: response.completed" in answer.text
        assert sent_json(sent)["input"] == file_input
        gone = await gateway.delete(f"{RESPONSES}/resp_n1")
        assert gone.json()["deleted"] is True and deleted.called
    refused = await gateway.post(RESPONSES, json={"model": "m", "input": file_input})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "input[0].content[0]"
    refused_row, row = await sync_to_async(recorded)(2)
    assert (row.service, row.prompt_tokens, row.completion_tokens) == ("responses", 5, 1)
    assert refused_row.status == 400
