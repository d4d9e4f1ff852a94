"""Embeddings replies as upstreams send them."""

from __future__ import annotations

import base64
from array import array


def packed(vector: list[float]) -> str:
    return base64.b64encode(array("f", vector).tobytes()).decode()


def unpacked(text: str) -> list[float]:
    return array("f", base64.b64decode(text)).tolist()


def embeddings_reply(
    vectors: list[list[float]], as_base64: bool = False, usage: dict | None = None
) -> dict:
    data = [
        {"object": "embedding", "index": i, "embedding": packed(v) if as_base64 else v}
        for i, v in enumerate(vectors)
    ]
    reply = {"object": "list", "data": data, "model": "embedder"}
    if usage is not False:
        reply["usage"] = usage or {"prompt_tokens": 4, "total_tokens": 4}
    return reply
