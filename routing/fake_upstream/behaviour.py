"""The behaviour language of the fake upstream: the model name says what the reply does.

Words joined by "+", for example `echo+chunk:3+delay:50`. The reply text is the last
user message (or prompt).

    echo            reply with the prompt (the default)
    inspect         reply with the JSON of the headers and body received
    tool            call the first tool offered, with the prompt as its JSON arguments
    tool:NAME       call that tool instead
    agent           a one-step agent: asked with tools, it calls the one a prompt line
                    `CALL name {json arguments}` names (else answers the prompt); given
                    a tool's result, it answers "Done. The tool said: …"
    words:N         reply with N words instead
    think           put "<think>…</think>" before the reply
    reasoning       send "Let me think about this." as reasoning_content before the reply
    fence           wrap the reply in a ```json fence
    chunk:N         stream N characters per event (default: one word per event)
    split:A,B,…     stream pieces cut at these character offsets
    delay:MS        wait between events (or before a whole reply)
    ttfb:MS         wait before the first byte
    hang            never answer (until the client leaves)
    hang-after:N    stream N events, then go silent
    drop-after:N    stream N events, then drop the connection
    status:CODE     answer with that error status (429 carries Retry-After: 7)
    text-error:CODE answer with that status and a plain-text body
    malformed       send a line that is not JSON after the first event
    no-usage        leave out token usage
    no-done         end the stream without [DONE]
    crlf            separate events with CRLF
    coalesce        send all events in one write
"""

from __future__ import annotations

import itertools
import re

import orjson

WORD = re.compile(r"\s*\S+\s*|\s+")
CALL = re.compile(r"CALL (\S+) (\{.*\})")


def parse_behaviour(model: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in model.split("+"):
        name, _, arg = part.partition(":")
        found[name.strip()] = arg.strip()
    return found


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_text(body: dict) -> str:
    if "messages" in body:
        users = [m for m in body["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        return _content_text(users[-1].get("content")) if users else ""
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else " ".join(map(str, prompt))


def reply_text(body: dict, how: dict[str, str], headers: dict[str, str]) -> str:
    if "inspect" in how:
        return orjson.dumps({"headers": headers, "body": body}).decode()
    text = (
        " ".join(f"w{i}" for i in range(int(how["words"]))) if "words" in how else prompt_text(body)
    )
    if "fence" in how:
        text = f"```json\n{text}\n```"
    if "think" in how:
        text = f"<think>Let me think about this.</think>{text}"
    return text


def pieces(text: str, how: dict[str, str]) -> list[str]:
    if "split" in how:
        cuts = sorted({int(c) for c in how["split"].split(",") if c.strip()})
        bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
        return [text[a:b] for a, b in itertools.pairwise(bounds)]
    if "chunk" in how:
        size = max(int(how["chunk"]), 1)
        return [text[i : i + size] for i in range(0, len(text), size)]
    return WORD.findall(text) or [""]


def tool_name(body: dict, how: dict[str, str]) -> str:
    if how.get("tool"):
        return how["tool"]
    tools = body.get("tools") or [{}]
    return (tools[0].get("function") or {}).get("name", "tool")


def offered_tools(body: dict) -> set[str]:
    return {
        (tool.get("function") or {}).get("name", "")
        for tool in body.get("tools") or ()
        if isinstance(tool, dict)
    }


def agent_turn(body: dict) -> tuple[str, str | None]:
    """The agent's reply text, and the tool it calls (None: the text is its answer)."""
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    if messages and messages[-1].get("role") == "tool":
        return f"Done. The tool said: {_content_text(messages[-1].get('content'))[:200]}", None
    found = CALL.search(prompt_text(body))
    if found and found.group(1) in offered_tools(body):
        return found.group(2), found.group(1)
    return prompt_text(body), None


def usage(body: dict, completion: list[str]) -> dict:
    prompt = len(prompt_text(body).split()) + 1
    done = max(len(completion), 1)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
