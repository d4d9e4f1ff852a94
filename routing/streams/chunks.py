"""Pure transforms of OpenAI completion bodies and stream chunks (parsed JSON dicts).

Chat replies carry text in `choices[i].message.content` (whole) or
`choices[i].delta.content` (stream); text completions in `choices[i].text`.
Each choice of a stream has its own strippers, so `n > 1` stays correct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.streams.transforms import (
    JsonFenceStripper,
    ThinkStripper,
    strip_json_fence,
    strip_think,
)

CHAT = "chat"
TEXT = "text"
THINK_MODES = ("strip", "reasoning", "keep")


@dataclass(frozen=True, slots=True)
class Transforms:
    think: str = "strip"  # one of THINK_MODES
    no_think: bool = False
    json_fence: bool = False

    def describe(self) -> list[str]:
        names = {"strip": ["strip <think>"], "reasoning": ["<think> to reasoning_content"]}
        return [
            *names.get(self.think, []),
            *(["append /no_think"] if self.no_think else []),
            *(["unfence ```json"] if self.json_fence else []),
        ]


def _text_holder(choice: dict, kind: str, stream: bool) -> dict | None:
    """The dict inside a choice that holds its text (delta, message or the choice)."""
    if kind == TEXT:
        return choice
    holder = choice.get("delta" if stream else "message")
    return holder if isinstance(holder, dict) else None


def _text_key(kind: str) -> str:
    return "text" if kind == TEXT else "content"


def transform_completion(data: dict, transforms: Transforms, kind: str) -> bool:
    """Apply the transforms to a whole (non-stream) reply in place; True if it changed."""
    changed = False
    key = _text_key(kind)
    for choice in data.get("choices") or []:
        holder = _text_holder(choice, kind, stream=False) if isinstance(choice, dict) else None
        if holder is None or not isinstance(holder.get(key), str):
            continue
        text = holder[key]
        if transforms.think != "keep":
            text, thinking = strip_think(text)
            if thinking and transforms.think == "reasoning" and kind == CHAT:
                holder["reasoning_content"] = (holder.get("reasoning_content") or "") + thinking
        if transforms.json_fence:
            text = strip_json_fence(text)
        if text != holder[key]:
            holder[key] = text
            changed = True
    return changed


@dataclass
class _ChoiceState:
    think: ThinkStripper | None
    fence: JsonFenceStripper | None
    finished: bool = False

    def feed(self, text: str) -> tuple[str, str]:
        thinking = ""
        if self.think is not None:
            text = self.think.feed(text)
            thinking = self.think.take_thinking()
        if self.fence is not None and text:
            text = self.fence.feed(text)
        return text, thinking

    def flush(self) -> tuple[str, str]:
        self.finished = True
        text, thinking = "", ""
        if self.think is not None:
            text = self.think.flush()
            thinking = self.think.take_thinking()
        if self.fence is not None:
            text = (self.fence.feed(text) if text else "") + self.fence.flush()
        return text, thinking


@dataclass
class ChunkTransformer:
    """Rewrites stream chunks in place; drops those left with nothing to say."""

    transforms: Transforms
    kind: str = CHAT
    _choices: dict[int, _ChoiceState] = field(default_factory=dict)
    _template: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.transforms.think != "keep" or self.transforms.json_fence

    def _state(self, index: int) -> _ChoiceState:
        state = self._choices.get(index)
        if state is None:
            think = ThinkStripper() if self.transforms.think != "keep" else None
            fence = JsonFenceStripper() if self.transforms.json_fence else None
            state = self._choices[index] = _ChoiceState(think, fence)
        return state

    def apply(self, chunk: dict) -> bool:
        """Transform `chunk` in place. False: nothing is left worth sending."""
        choices = chunk.get("choices")
        if not self.active or not isinstance(choices, list) or not choices:
            return True
        self._template = chunk
        keep = chunk.get("usage") is not None
        for choice in choices:
            keep = self._apply_choice(choice) or keep
        return keep

    def _apply_choice(self, choice: object) -> bool:
        if not isinstance(choice, dict):
            return True
        holder = _text_holder(choice, self.kind, stream=True)
        key = _text_key(self.kind)
        if holder is None:
            return True
        original = holder.get(key)
        state = self._state(choice.get("index", 0))
        text, thinking = (
            state.feed(original) if isinstance(original, str) and original else ("", "")
        )
        if choice.get("finish_reason") is not None and not state.finished:
            tail, tail_thinking = state.flush()
            text, thinking = text + tail, thinking + tail_thinking
        if isinstance(original, str) or text:
            holder[key] = text
        if thinking and self.transforms.think == "reasoning" and self.kind == CHAT:
            holder["reasoning_content"] = (holder.get("reasoning_content") or "") + thinking
        emptied = isinstance(original, str) and original and not text
        others = any(v not in (None, "", []) for k, v in holder.items() if k != key)
        return not emptied or others or choice.get("finish_reason") is not None

    def finish(self) -> list[dict]:
        """Chunks for text still held back when the stream ended without finish_reason."""
        out = []
        for index, state in self._choices.items():
            if state.finished:
                continue
            text, thinking = state.flush()
            if not text and not (thinking and self.transforms.think == "reasoning"):
                continue
            payload: dict = {_text_key(self.kind): text}
            if thinking and self.transforms.think == "reasoning" and self.kind == CHAT:
                payload["reasoning_content"] = thinking
            choice = {"index": index, "finish_reason": None}
            choice.update({"delta": payload} if self.kind == CHAT else payload)
            base = {
                k: self._template[k]
                for k in ("id", "object", "created", "model")
                if k in self._template
            }
            out.append({**base, "choices": [choice]})
        return out
