"""Asking the real server directly and through the gateway, and comparing the answers."""

from __future__ import annotations

import json

import httpx

# Differ between any two answers of the server: the answer's id and second, and the ids it
# makes up for tool calls. Timings are measured, so only their names are compared.
# `cache_prompt: false` keeps the server from reusing the first request's prompt for the
# second (which would show in the usage).
PER_ANSWER = ("id", "created")
SAME_PROMPT_TWICE = {"cache_prompt": False, "temperature": 0}


def without_call_ids(value: object) -> object:
    if isinstance(value, list):
        return [without_call_ids(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        k: [{**c, "id": "-"} if isinstance(c, dict) and "id" in c else c for c in v]
        if k == "tool_calls" and isinstance(v, list)
        else without_call_ids(v)
        for k, v in value.items()
    }


def comparable(answer: object) -> object:
    """An answer (or a stream event) without what differs between two identical requests."""
    if not isinstance(answer, dict):
        return answer
    out = {k: without_call_ids(v) for k, v in answer.items() if k not in PER_ANSWER}
    if isinstance(out.get("timings"), dict):
        out["timings"] = sorted(out["timings"])
    return out


def post(url: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=60)


def events(url: str, path: str, body: dict) -> list[object]:
    """Every `data:` of a stream, parsed ([DONE] as the string)."""
    found: list[object] = []
    with httpx.stream("POST", f"{url}{path}", json=body, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                found.append(data if data == "[DONE]" else json.loads(data))
    return found


def both(direct: str, gateway: str, path: str, body: dict) -> tuple[dict, dict]:
    """The same whole request, to the server and then through the gateway."""
    first, second = post(direct, path, body), post(gateway, path, body)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    return first.json(), second.json()


def both_streamed(direct: str, gateway: str, path: str, body: dict) -> tuple[list, list]:
    return events(direct, path, body), events(gateway, path, body)


def same_stream(direct: list, relayed: list) -> None:
    """Event by event, field by field; ids agree within each stream."""
    assert [comparable(e) for e in relayed] == [comparable(e) for e in direct]
    assert len({e["id"] for e in relayed if isinstance(e, dict)}) == 1
