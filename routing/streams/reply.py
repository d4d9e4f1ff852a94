"""Pure assembly of the reply a client received (first choice), from chunks or a whole body."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: dict[int, dict] = field(default_factory=dict)
    finish_reason: str | None = None
    id: str = ""  # the upstream's id of its reply

    @property
    def text(self) -> str:
        return "".join(self.content)

    def feed_chunk(self, chunk: dict) -> None:
        """Take the first choice of a (transformed) stream chunk."""
        self._take_id(chunk)
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            holder = delta if isinstance(delta, dict) else choice
            key = "text" if "text" in holder and "content" not in holder else "content"
            self._take(holder, key)
            for call in holder.get("tool_calls") or ():
                self._merge_call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def feed_completion(self, data: dict) -> None:
        """Take the first choice of a whole reply."""
        self._take_id(data)
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            message = choice.get("message")
            holder = message if isinstance(message, dict) else choice
            self._take(holder, "content" if isinstance(message, dict) else "text")
            for i, call in enumerate(holder.get("tool_calls") or ()):
                if isinstance(call, dict):
                    self.tool_calls[i] = call
            self.finish_reason = choice.get("finish_reason")

    def _take_id(self, data: dict) -> None:
        if not self.id and isinstance(data.get("id"), str):
            self.id = data["id"]

    def _take(self, holder: dict, key: str) -> None:
        if isinstance(holder.get(key), str):
            self.content.append(holder[key])
        if isinstance(holder.get("reasoning_content"), str):
            self.reasoning.append(holder["reasoning_content"])

    def _merge_call(self, call: object) -> None:
        if not isinstance(call, dict):
            return
        index = call.get("index", len(self.tool_calls))
        merged = self.tool_calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            merged["id"] = call["id"]
        if call.get("type"):
            merged["type"] = call["type"]
        function = call.get("function") or {}
        merged["function"]["name"] += function.get("name") or ""
        merged["function"]["arguments"] += function.get("arguments") or ""

    def message(self) -> dict:
        """The assistant message as ChatML."""
        message: dict = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        return message
