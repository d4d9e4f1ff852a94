"""Dispatch of the fake upstream's endpoints beyond chat and completions."""

from __future__ import annotations

from routing.fake_upstream import audio, embeddings, ollama

ROUTES = {
    ("POST", "/v1/embeddings"): embeddings.embeddings,
    ("POST", "/v1/rerank"): embeddings.rerank,
    ("POST", "/v1/audio/transcriptions"): audio.transcription,
    ("POST", "/v1/audio/translations"): audio.transcription,
    ("POST", "/v1/audio/speech"): audio.speech,
    ("POST", "/api/pull"): ollama.management,
    ("POST", "/api/push"): ollama.management,
    ("POST", "/api/create"): ollama.management,
    ("POST", "/api/copy"): ollama.management,
    ("DELETE", "/api/delete"): ollama.management,
    ("GET", "/api/tags"): ollama.tags,
}


def extra_handler(method: str, path: str):
    """The handler of an extra endpoint, or None."""
    return ROUTES.get((method, path))
