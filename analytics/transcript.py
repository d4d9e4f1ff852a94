"""The readable transcript of one request: its messages and the reply."""

from __future__ import annotations

import orjson

from recording.models import Conversation, RequestBody, RequestLog
from routing.apis.anthropic.request import chat_request
from routing.apis.anthropic.translate_native import EventReader, completion_of
from routing.core.errors import GatewayError
from routing.streams.reply import Reply
from routing.streams.sse import NDJSONDecoder, SSEDecoder


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "[image]") if isinstance(p, dict) else str(p) for p in content
        )
    return "" if content is None else orjson.dumps(content).decode()


def _messages_of(request: dict) -> list[dict]:
    if isinstance(request.get("messages"), list):
        return [m for m in request["messages"] if isinstance(m, dict)]
    out = []
    if request.get("system"):
        out.append({"role": "system", "content": request["system"]})
    if isinstance(request.get("prompt"), str | list):
        out.append({"role": "user", "content": request["prompt"]})
    return out


def _reply_of(response: str) -> dict | None:
    """The assistant's reply from a delivered body: one JSON, SSE events or NDJSON lines."""
    reply = Reply()
    try:
        data = orjson.loads(response)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        message = data.get("message")
        if isinstance(message, dict):  # an Ollama reply
            return {"role": "assistant", "content": message.get("content", "")}
        if "response" in data:
            return {"role": "assistant", "content": data["response"]}
        reply.feed_completion(data)
        return reply.message()
    if response.lstrip().startswith("data:"):
        decoder = SSEDecoder()
        events = decoder.feed(response.encode()) + decoder.flush()
        chunks = [e.data for e in events if e.data.strip() != "[DONE]"]
    else:
        decoder = NDJSONDecoder()
        chunks = decoder.feed(response.encode()) + decoder.flush()
    text = []
    for chunk in chunks:
        try:
            item = orjson.loads(chunk)
        except orjson.JSONDecodeError:
            continue
        if isinstance(item, dict) and isinstance(item.get("message"), dict):
            text.append(item["message"].get("content") or "")
        elif isinstance(item, dict) and "response" in item:
            text.append(item.get("response") or "")
        elif isinstance(item, dict):
            reply.feed_chunk(item)
    return {"role": "assistant", "content": "".join(text)} if text else reply.message()


def _anthropic_messages(request: dict, response: str) -> list[dict]:
    """A Messages request and its reply (whole or events), read as chat messages."""
    try:
        messages = chat_request({**request, "max_tokens": 1})[0]["messages"]
    except GatewayError:  # a request the gateway refused: nothing to show
        return []
    reply = Reply()
    decoder = SSEDecoder()
    if response.lstrip().startswith(("event:", "data:")):
        reader = EventReader()
        for event in decoder.feed(response.encode()) + decoder.flush():
            try:
                item = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            chunk = reader.chunk(item) if isinstance(item, dict) else None
            if chunk is not None:
                reply.feed_chunk(chunk)
    elif response:
        try:
            data = orjson.loads(response)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            reply.feed_completion(completion_of(data))
    message = reply.message()
    return [*messages, message] if message["content"] or "tool_calls" in message else messages


def transcript(
    row: RequestLog, body: RequestBody | None, conversation: Conversation | None
) -> list[dict]:
    """[{role, text, tool_calls}] for display, from the captured conversation if any."""
    if conversation is not None:
        messages = conversation.messages
    else:
        messages = []
        if body is not None:
            try:
                request = orjson.loads(body.request_text())
            except orjson.JSONDecodeError:
                request = {}
            request = request if isinstance(request, dict) else {}
            if row.service == "anthropic":
                messages = _anthropic_messages(request, body.response_text())
            else:
                messages = _messages_of(request)
                reply = _reply_of(body.response_text()) if body.response_text() else None
                if reply and (reply.get("content") or reply.get("tool_calls")):
                    messages.append(reply)
    return [
        {
            "role": m.get("role", "?"),
            "text": _text(m.get("content")),
            "tool_calls": orjson.dumps(m["tool_calls"], option=orjson.OPT_INDENT_2).decode()
            if m.get("tool_calls")
            else "",
        }
        for m in messages
    ]
