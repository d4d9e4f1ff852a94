"""Pure handling of embeddings replies without turning their vectors into Python objects.

A reply can hold megabytes of numbers. The vectors are found by position (`scan`), the
rest of the reply (a few bytes per vector) is parsed, and the client's reply is written
around the vectors as slices of the upstream's bytes: floats stay the upstream's text,
and only a vector in the format the client did not ask for is converted, one at a time
(base64 is float32 little-endian, as OpenAI sends it).
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

VECTOR = re.compile(rb'"embedding"\s*:\s*([\["])')
PIECE = 256 * 1024  # bytes handed to the client at a time


class ReplyError(ValueError):
    """The upstream's answer is not a list of embeddings."""


@dataclass(frozen=True, slots=True)
class Vector:
    start: int  # offset of its "[" or opening quote
    end: int  # offset just after its "]" or closing quote
    base64: bool


@dataclass
class Scan:
    raw: bytes | bytearray
    vectors: list[Vector]  # in the reply's order
    skeleton: dict = field(default_factory=dict)  # the reply, each vector replaced by 0

    @property
    def usage(self) -> dict | None:
        usage = self.skeleton.get("usage")
        return usage if isinstance(usage, dict) else None

    @property
    def model(self) -> object:
        return self.skeleton.get("model")

    def in_index_order(self) -> list[Vector]:
        """The vectors ordered by each item's `index` (the order of the inputs)."""
        items = self.skeleton["data"]
        order = sorted(
            range(len(items)),
            key=lambda i: items[i].get("index") if isinstance(items[i].get("index"), int) else i,
        )
        return [self.vectors[i] for i in order]

    def dimensions(self) -> int | None:
        if not self.vectors:
            return None
        first = self.vectors[0]
        if first.base64:
            text = bytes(self.raw[first.start + 1 : first.end - 1]).rstrip(b"=")
            return len(text) * 3 // 4 // 4
        if not bytes(self.raw[first.start + 1 : first.end - 1]).strip():
            return 0
        return self.raw.count(b",", first.start, first.end) + 1


def _find_vectors(raw: bytes | bytearray) -> list[Vector] | None:
    """Every vector's position, or None where the quick reading does not apply (nested
    arrays, escapes in a base64 string)."""
    found, pos = [], 0
    while (match := VECTOR.search(raw, pos)) is not None:
        start = match.start(1)
        if match.group(1) == b"[":
            end = raw.find(b"]", start)
            if end < 0 or raw.find(b"[", start + 1, end) >= 0:
                return None
        else:
            end = raw.find(b'"', start + 1)
            if end < 0 or raw.find(b"\\", start + 1, end) >= 0:
                return None
        found.append(Vector(start, end + 1, match.group(1) == b'"'))
        pos = end + 1
    return found


def _skeleton(raw: bytes | bytearray, vectors: list[Vector]) -> dict | None:
    parts, pos = [], 0
    for vector in vectors:
        parts += [raw[pos : vector.start], b"0"]
        pos = vector.end
    parts.append(raw[pos:])
    try:
        skeleton = orjson.loads(b"".join(parts))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(skeleton, dict) or not isinstance(skeleton.get("data"), list):
        return None
    items = skeleton["data"]
    if len(items) != len(vectors) or not all(
        isinstance(item, dict) and item.get("embedding") == 0 for item in items
    ):
        return None
    return skeleton


def scan(raw: bytes | bytearray) -> Scan:
    """Where the vectors are; raises ReplyError when the reply is not an embeddings list."""
    vectors = _find_vectors(raw)
    skeleton = _skeleton(raw, vectors) if vectors is not None else None
    if skeleton is None:  # unusual formatting: read it whole once, written plainly
        try:
            raw = orjson.dumps(orjson.loads(raw))
        except orjson.JSONDecodeError:
            raise ReplyError("The upstream answered with something that is not JSON.") from None
        vectors = _find_vectors(raw)
        skeleton = _skeleton(raw, vectors) if vectors is not None else None
        if skeleton is None:
            raise ReplyError("The upstream's answer is not a list of embeddings.")
    return Scan(raw, vectors, skeleton)


def floats_to_base64(text: bytes) -> bytes:
    """`[0.5, …]` as a JSON string of float32 little-endian bytes, base64-encoded."""
    values = array("f", orjson.loads(text))
    if sys.byteorder == "big":
        values.byteswap()
    return b'"' + base64.b64encode(values.tobytes()) + b'"'


def base64_to_floats(text: bytes) -> bytes:
    """A base64 JSON string of float32 little-endian values as `[…]`."""
    values = array("f")
    try:
        values.frombytes(base64.b64decode(text[1:-1], validate=True))
    except (binascii.Error, ValueError):
        raise ReplyError("The upstream sent an embedding that is not valid base64.") from None
    if sys.byteorder == "big":
        values.byteswap()
    return orjson.dumps(values.tolist())


def vector_as(found: Scan, vector: Vector, base64_wanted: bool) -> bytes | memoryview:
    text = memoryview(found.raw)[vector.start : vector.end]
    if vector.base64 == base64_wanted:
        return text
    return floats_to_base64(bytes(text)) if base64_wanted else base64_to_floats(bytes(text))


def openai_parts(found: Scan, encoding: str) -> Iterator[bytes | memoryview]:
    """The upstream's reply with every vector in `encoding`; unchanged stretches are views
    of the upstream's bytes, not copies."""
    view, pos, wanted = memoryview(found.raw), 0, encoding == "base64"
    for vector in found.vectors:
        if vector.base64 != wanted:
            yield view[pos : vector.start]
            yield vector_as(found, vector, wanted)
            pos = vector.end
    yield view[pos:]


def ollama_embed_parts(found: Scan, model: str, timings: dict) -> Iterator[bytes | memoryview]:
    """Ollama's /api/embed reply: {"model", "embeddings": [[…], …], durations, count}."""
    yield b'{"model":' + orjson.dumps(model) + b',"embeddings":['
    for i, vector in enumerate(found.in_index_order()):
        if i:
            yield b","
        yield vector_as(found, vector, False)
    yield b"]," + orjson.dumps(timings)[1:]


def ollama_legacy_parts(found: Scan) -> Iterator[bytes | memoryview]:
    """Ollama's older /api/embeddings reply: {"embedding": […]}."""
    vectors = found.in_index_order()
    yield b'{"embedding":'
    yield vector_as(found, vectors[0], False) if vectors else b"[]"
    yield b"}"


def in_pieces(parts: Iterator[bytes | memoryview], size: int = PIECE) -> Iterator[bytes]:
    """Bytes of at most `size`, ready to send; only one piece is copied at a time."""
    for part in parts:
        for offset in range(0, len(part), size):
            yield bytes(part[offset : offset + size])


def summary(found: Scan, encoding: str, inputs: int) -> dict:
    """What the log keeps of a reply instead of its vectors."""
    return {
        "object": "list",
        "model": found.model,
        "embeddings": len(found.vectors),
        "inputs": inputs,
        "dimensions": found.dimensions(),
        "encoding_format": encoding,
        "usage": found.usage,
        "vectors": "not stored",
    }
