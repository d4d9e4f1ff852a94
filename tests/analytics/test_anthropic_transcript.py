"""The request page reads a Messages request and its streamed events as a transcript."""

from __future__ import annotations

import json

import pytest

from recording.models import RequestBody
from routing.models import compress
from tests.analytics.test_pages import HTML, staff  # noqa: F401
from tests.fixtures import make_row

pytestmark = pytest.mark.django_db


def test_a_messages_request_page_shows_tool_calls_results_and_the_reply(staff):  # noqa: F811
    row = make_row(service="anthropic", endpoint="/v1/messages", stream=True)
    request = {
        "model": "claude-x",
        "max_tokens": 99,
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "list the files"}]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"c": "ls"}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.txt"}],
            },
        ],
    }
    events = [
        {"type": "message_start", "message": {}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "One "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "file."},
        },
        {"type": "message_stop"},
    ]
    sse = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    RequestBody.objects.create(
        request=row,
        request_body=compress(json.dumps(request).encode()),
        response_body=compress(sse.encode()),
        request_headers=compress(b"{}"),
    )
    page = staff.get(f"/request/{row.pk}", **HTML).content.decode()
    order = ["be brief", "list the files", "Bash", "a.txt", "One file."]
    assert [page.index(text) for text in order] == sorted(page.index(text) for text in order)
