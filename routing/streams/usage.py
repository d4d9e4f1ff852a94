"""Pure handling of token usage in OpenAI streams: what the gateway's own request for usage
adds to a stream is taken out again (and only that), and a counted usage is written as the
final chunk an upstream that counts would have sent."""

from __future__ import annotations


def client_usage(prompt: int, completion: int) -> dict:
    """Usage in OpenAI's shape, as a client reads it."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def finishes(chunk: dict) -> bool:
    return any(
        isinstance(c, dict) and c.get("finish_reason") is not None
        for c in chunk.get("choices") or ()
    )


def is_usage_only(chunk: object) -> bool:
    return (
        isinstance(chunk, dict)
        and isinstance(chunk.get("usage"), dict)
        and not chunk.get("choices")
    )


class AskedUsage:
    """What the gateway's own request for usage added to a stream the client asked without
    it, taken out again, and nothing else.

    The gateway asks for usage on every stream (for the log). The usage-only chunk that this
    adds goes; whatever else the upstream put on it (llama.cpp's `timings`, which it sends on
    the final chunk when not asked for usage) moves onto the final chunk the client gets, so
    that chunk is held until the next event. A usage the upstream sends on a chunk with
    choices, asked or not (llama.cpp's completions streams), reaches the client as it would
    directly.
    """

    def __init__(self) -> None:
        self.held: dict | None = None

    def take(self, chunk: dict) -> list[dict]:
        """The chunks to send now, in order (a final chunk is kept back)."""
        if chunk.get("usage", ...) is None:
            del chunk["usage"]  # `"usage": null` on every chunk, only because we asked
        if is_usage_only(chunk):
            if self.held is not None:
                for key, value in chunk.items():
                    if key not in ("choices", "usage"):
                        self.held.setdefault(key, value)
            return []
        out = self.flush()
        if finishes(chunk):
            self.held = chunk
        else:
            out.append(chunk)
        return out

    def flush(self) -> list[dict]:
        held, self.held = self.held, None
        return [held] if held is not None else []


class PassAll:
    """The client asked for usage (or the gateway did not): every chunk goes as it is."""

    def take(self, chunk: dict) -> list[dict]:
        return [chunk]

    def flush(self) -> list[dict]:
        return []


def usage_chunk(template: dict, prompt: int, completion: int) -> dict:
    """The final usage-only chunk, as an upstream that counts would have sent it."""
    fields = ("id", "object", "created", "model", "system_fingerprint")
    return {
        **{k: template[k] for k in fields if k in template},
        "choices": [],
        "usage": client_usage(prompt, completion),
    }
