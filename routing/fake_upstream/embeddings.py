"""The fake upstream's /v1/embeddings and /v1/rerank.

Vectors are made from each input's text (the same text, the same vector), of
`dimensions` values (8 by default), each exactly a float32 so that floats and base64
carry the same numbers. The model name's words apply: `status:CODE`, `no-usage`, and
`float-only` (an upstream that ignores `encoding_format: base64`).
"""

from __future__ import annotations

import base64
import hashlib
from array import array

import orjson

from routing.fake_upstream.behaviour import parse_behaviour
from routing.fake_upstream.wire import answer_json, error, read_body

DIMENSIONS = 8


def vector(text: str, dimensions: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    while len(seed) < dimensions:
        seed += hashlib.sha256(seed).digest()
    return array("f", [(b - 128) / 128 for b in seed[:dimensions]]).tolist()


def inputs_of(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [orjson.dumps(value).decode()]
    if isinstance(value, list):
        return [v if isinstance(v, str) else orjson.dumps(v).decode() for v in value]
    raise ValueError("input")


def token_count(texts: list[str]) -> int:
    return sum(len(t.split()) or 1 for t in texts)


async def embeddings(scope: dict, receive, send) -> None:
    body = orjson.loads(await read_body(receive))
    how = parse_behaviour(str(body.get("model", "")))
    if "status" in how:
        return await error(send, int(how["status"]), f"fake error {how['status']}")
    try:
        texts = inputs_of(body.get("input"))
    except ValueError:
        return await error(send, 400, "input must be a string or a list")
    size = body.get("dimensions") or DIMENSIONS
    if not isinstance(size, int) or not 1 <= size <= 65_536:  # as a real server refuses
        return await error(send, 400, "dimensions must be from 1 to 65536")
    packed = body.get("encoding_format") == "base64" and "float-only" not in how
    data = []
    for i, text in enumerate(texts):
        values = vector(text, size)
        embedded = base64.b64encode(array("f", values).tobytes()).decode() if packed else values
        data.append({"object": "embedding", "index": i, "embedding": embedded})
    reply = {"object": "list", "data": data, "model": body.get("model")}
    if "no-usage" not in how:
        count = token_count(texts)
        reply["usage"] = {"prompt_tokens": count, "total_tokens": count}
    await answer_json(send, 200, reply)


async def rerank(scope: dict, receive, send) -> None:
    """Documents scored by the share of the query's words they hold, best first."""
    body = orjson.loads(await read_body(receive))
    query = set(str(body.get("query", "")).lower().split())
    documents = [d if isinstance(d, str) else d.get("text", "") for d in body.get("documents", ())]
    scores = [len(query & set(doc.lower().split())) / (len(query) or 1) for doc in documents]
    order = sorted(range(len(documents)), key=lambda i: -scores[i])[: body.get("top_n") or None]
    results = [
        {"index": i, "relevance_score": scores[i], "document": {"text": documents[i]}}
        for i in order
    ]
    usage = {"prompt_tokens": token_count([*documents, " ".join(query)])}
    usage["total_tokens"] = usage["prompt_tokens"]
    await answer_json(send, 200, {"model": body.get("model"), "results": results, "usage": usage})
