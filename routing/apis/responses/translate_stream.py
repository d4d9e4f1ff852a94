"""Pure translation of a chat-completions stream into the Responses API's event stream.

    response.created, response.in_progress
    per item: response.output_item.added ... response.output_item.done
      reasoning: content_part.added, reasoning_text.delta ... .done, content_part.done
                 (and, when summaries were asked for, the reasoning_summary_* events)
      message:   content_part.added, output_text.delta ... .done, content_part.done
      call:      function_call_arguments.delta ... .done
    response.completed | response.incomplete | response.failed

Every event carries `sequence_number`. Reasoning and message items close when another item
starts; tool calls stay open (their pieces may interleave by index) until the end.
"""

from __future__ import annotations

import orjson

from routing.apis.responses.reply import (
    LEADING,
    Draft,
    call_item,
    message_item,
    outcome,
    reasoning_item,
    reasoning_of,
    response_usage,
    text_of,
    text_part,
)

REASONING_PART = {"type": "reasoning_text", "text": ""}
SUMMARY_PART = {"type": "summary_text", "text": ""}


def encode(events: list[dict]) -> bytes:
    """Server-sent events, each named by its type."""
    return b"".join(
        b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
        for event in events
    )


class EventWriter:
    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.sequence = 0
        self.started = False
        self.items: list[dict] = []  # output items (as added; replaced when done)
        self.pieces: list[list[str]] = []  # per item: its text, or its call's arguments
        self.current: int | None = None  # the open reasoning or message item
        self.calls: dict[int, int] = {}  # the chat tool call's index -> output index
        self.flat: dict[int, str] = {}  # output index -> the call's name upstream
        self.closed: set[int] = set()
        self.finish_reason: str | None = None
        self.response: dict | None = None  # the final Response, once finished

    def event(self, kind: str, **fields: object) -> dict:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def _at(self, index: int) -> dict:
        return {"item_id": self.items[index]["id"], "output_index": index}

    def start(self) -> list[dict]:
        if self.started:
            return []
        self.started = True
        frame = self.draft.frame("in_progress", [])
        return [
            self.event("response.created", response=frame),
            self.event("response.in_progress", response=frame),
        ]

    def _open(self, item: dict) -> tuple[int, list[dict]]:
        index = len(self.items)
        self.items.append(item)
        self.pieces.append([])
        return index, [self.event("response.output_item.added", output_index=index, item=item)]

    # --- what a chunk says ------------------------------------------------------------
    def feed(self, chunk: dict) -> list[dict]:
        events = self.start()
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            if thinking := reasoning_of(delta):
                events += self._reasoning(thinking)
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self._text(delta["content"])
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else ():
                if isinstance(call, dict) and isinstance(call.get("index", 0), int):
                    events += self._call(call)
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]
        return events

    def _reasoning(self, text: str) -> list[dict]:
        events: list[dict] = []
        if self.current is None or self.items[self.current]["type"] != "reasoning":
            events += self._close_current()
            item_id = self.draft.item_id("rs", len(self.items))
            item = {"id": item_id, "type": "reasoning", "summary": [], "content": []}
            self.current, opened = self._open({**item, "status": "in_progress"})
            events += opened
            at = self._at(self.current)
            if self.draft.summary:
                events.append(
                    self.event(
                        "response.reasoning_summary_part.added",
                        **at,
                        summary_index=0,
                        part=SUMMARY_PART,
                    )
                )
            events.append(
                self.event(
                    "response.content_part.added", **at, content_index=0, part=REASONING_PART
                )
            )
        at = self._at(self.current)
        self.pieces[self.current].append(text)
        events.append(
            self.event("response.reasoning_text.delta", **at, content_index=0, delta=text)
        )
        if self.draft.summary:
            events.append(
                self.event(
                    "response.reasoning_summary_text.delta", **at, summary_index=0, delta=text
                )
            )
        return events

    def _text(self, text: str) -> list[dict]:
        events: list[dict] = []
        if self.current is None or self.items[self.current]["type"] != "message":
            text = text.lstrip(LEADING)
            if not text:
                return events
            events += self._close_current()
            events += self._open_message()
        at = self._at(self.current)
        self.pieces[self.current].append(text)
        events.append(
            self.event("response.output_text.delta", **at, content_index=0, delta=text, logprobs=[])
        )
        return events

    def _open_message(self) -> list[dict]:
        item = message_item(self.draft.item_id("msg", len(self.items)), [], "in_progress")
        self.current, events = self._open(item)
        part = text_part("")
        events.append(
            self.event(
                "response.content_part.added", **self._at(self.current), content_index=0, part=part
            )
        )
        return events

    def _call(self, call: dict) -> list[dict]:
        events: list[dict] = []
        key = call.get("index", 0)
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if key not in self.calls:
            events += self._close_current()
            index = len(self.items)
            flat = text_of(function.get("name"))
            call_id = text_of(call.get("id")) or self.draft.item_id("call", index)
            item = call_item(
                self.draft.item_id("fc", index), call_id, flat, "", self.draft.names, "in_progress"
            )
            self.calls[key], opened = self._open(item)
            self.flat[index] = flat
            events += opened
        index = self.calls[key]
        piece = function.get("arguments")
        if isinstance(piece, str) and piece:
            self.pieces[index].append(piece)
            if self.items[index]["type"] == "function_call":
                events.append(
                    self.event(
                        "response.function_call_arguments.delta", **self._at(index), delta=piece
                    )
                )
        return events

    # --- closing ----------------------------------------------------------------------
    def final_item(self, index: int, status: str) -> dict:
        """An item as it stands, with its whole text (or arguments)."""
        item, text = self.items[index], "".join(self.pieces[index])
        if item["type"] == "reasoning":
            return reasoning_item(item["id"], text, self.draft.summary, status)
        if item["type"] == "message":
            return message_item(item["id"], [text_part(text)], status)
        return call_item(
            item["id"], item["call_id"], self.flat[index], text, self.draft.names, status
        )

    def _done_pairs(self, final: dict, text: str) -> list[tuple[str, dict]]:
        """The events (name, fields) that end an item's parts, before output_item.done."""
        kind = final["type"]
        if kind == "reasoning":
            pairs = [
                ("reasoning_text.done", {"content_index": 0, "text": text}),
                ("content_part.done", {"content_index": 0, "part": final["content"][0]}),
            ]
            if self.draft.summary:
                pairs += [
                    ("reasoning_summary_text.done", {"summary_index": 0, "text": text}),
                    (
                        "reasoning_summary_part.done",
                        {"summary_index": 0, "part": final["summary"][0]},
                    ),
                ]
            return pairs
        if kind == "message":
            return [
                ("output_text.done", {"content_index": 0, "text": text, "logprobs": []}),
                ("content_part.done", {"content_index": 0, "part": final["content"][0]}),
            ]
        if kind == "function_call":
            return [("function_call_arguments.done", {"arguments": text})]
        return [("custom_tool_call_input.done", {"input": final["input"]})]

    def _close(self, index: int, status: str) -> list[dict]:
        if index in self.closed:
            return []
        self.closed.add(index)
        final = self.items[index] = self.final_item(index, status)
        at, text = self._at(index), "".join(self.pieces[index])
        events = [
            self.event(f"response.{name}", **at, **fields)
            for name, fields in self._done_pairs(final, text)
        ]
        events.append(self.event("response.output_item.done", output_index=index, item=final))
        return events

    def _close_current(self, status: str = "completed") -> list[dict]:
        if self.current is None:
            return []
        index, self.current = self.current, None
        return self._close(index, status)

    def finish(self, usage: dict | None) -> list[dict]:
        """Close every item; the last event carries the whole Response."""
        events = self.start()
        status, incomplete = outcome(self.finish_reason)
        item_status = "incomplete" if incomplete else "completed"
        if not self.items:
            events += self._open_message()
        events += self._close_current(item_status)
        for index in sorted(self.calls.values()):
            events += self._close(index, item_status)
        self.response = self.draft.frame(status, self.items, response_usage(usage), incomplete)
        events.append(self.event(f"response.{status}", response=self.response))
        return events

    def fail(self, message: str) -> list[dict]:
        """The upstream broke off: the Response failed, with what it had said so far."""
        events = self.start()
        output = [
            self.items[i] if i in self.closed else self.final_item(i, "incomplete")
            for i in range(len(self.items))
        ]
        error = {"code": "server_error", "message": message}
        self.response = self.draft.frame("failed", output, error=error)
        events.append(self.event("response.failed", response=self.response))
        return events
