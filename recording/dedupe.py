"""Pure duplicate detection on prompts: exact after normalising, and near by MinHash.

A prompt is normalised (lower case, punctuation dropped, whitespace collapsed), cut
into character 5-grams, and summarised by a one-permutation MinHash: each shingle's
hash goes to one of BINS bins, which keeps its smallest value. The share of equal
bins estimates the Jaccard similarity of two prompts' shingles. Bands of bins find
the candidates (locality-sensitive hashing), so a new prompt is compared with a few
earlier ones, not all. Memory: one signature per distinct prompt kept.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib

from recording.curation import call_text, content_text

BINS = 64
BAND = 4  # bins per band: prompts about half similar or more become candidates
SHINGLE = 5
EMPTY = 1 << 32
DEFAULT_THRESHOLD = 0.8
_MASK = 0xFFFFFFFF


def normalize(text: str) -> str:
    kept = (" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text.lower())
    return " ".join("".join(kept).split())


def prompt_parts(messages: list[dict]) -> tuple[str, str]:
    """(system text, the rest) of what was said before the final assistant reply.

    They are kept apart because a workflow's long system prompt, the same every time,
    would make every pair of its prompts look alike.
    """
    prompt = messages[:-1] if messages and messages[-1].get("role") == "assistant" else messages
    system, dialogue = [], []
    for message in prompt:
        if isinstance(message, dict):
            role = message.get("role", "")
            body = f"{role} {content_text(message.get('content'))} {call_text(message)}"
            (system if role in ("system", "developer") else dialogue).append(body)
    return "\n".join(system), "\n".join(dialogue)


def _mix(h: int) -> int:
    """MurmurHash3's finaliser: spreads crc32's bits so that bins and values are independent."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def signature(text: str) -> tuple[int, ...]:
    """The MinHash signature of a normalised text (EMPTY in bins no shingle fell in)."""
    shingles = {text[i : i + SHINGLE] for i in range(max(len(text) - SHINGLE + 1, 1))}
    bins = [EMPTY] * BINS
    for shingle in shingles:
        h = _mix(zlib.crc32(shingle.encode()))
        slot, value = h % BINS, h // BINS
        if value < bins[slot]:
            bins[slot] = value
    return tuple(bins)


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity: equal bins among those not empty in both."""
    used = [(x, y) for x, y in zip(a, b, strict=True) if x != EMPTY or y != EMPTY]
    return sum(x == y for x, y in used) / len(used) if used else 1.0


def _bands(sig: tuple[int, ...]) -> list[tuple[int, tuple[int, ...]]]:
    bands = [(i, sig[i : i + BAND]) for i in range(0, BINS, BAND)]
    return [(i, band) for i, band in bands if any(v != EMPTY for v in band)]


class Deduper:
    """Feed prompts in order; each is new (None) or a duplicate of the first one like it.

    `threshold` is the estimated similarity from which two prompts count as near
    duplicates; 1.0 keeps to exact duplicates (after normalising).
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0 < threshold <= 1:
            raise ValueError("the similarity threshold is a number in (0, 1]")
        self.threshold = threshold
        self._exact: dict[bytes, object] = {}
        self._signatures: dict[object, tuple[int, ...]] = {}
        self._buckets: dict[tuple, list[object]] = {}

    def first_like(self, key: object, text: str, context: str = "") -> object | None:
        """The key of an earlier prompt this one duplicates, or None (and it is kept).

        Near duplicates are looked for among prompts with the same (normalised) context,
        the system prompt: only `text` is compared.
        """
        normal, scope = normalize(text), hashlib.sha1(normalize(context).encode()).digest()
        exact = hashlib.sha1(scope + normal.encode()).digest()
        if exact in self._exact:
            return self._exact[exact]
        self._exact[exact] = key
        if self.threshold >= 1:
            return None
        sig = signature(normal)
        bands = [(scope, *band) for band in _bands(sig)]
        seen: set[object] = set()
        for band in bands:
            for other in self._buckets.get(band, ()):
                if other not in seen:
                    seen.add(other)
                    if similarity(sig, self._signatures[other]) >= self.threshold:
                        del self._exact[exact]  # a near duplicate is not kept either
                        return other
        self._signatures[key] = sig
        for band in bands:
            self._buckets.setdefault(band, []).append(key)
        return None


def first_like_conversation(deduper: Deduper, key: object, messages: list[dict]) -> object | None:
    """`first_like` on a conversation's prompt (its messages minus the final reply)."""
    system, dialogue = prompt_parts(messages)
    return deduper.first_like(key, dialogue, system)
