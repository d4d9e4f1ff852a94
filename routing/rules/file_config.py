"""What a routes file holds once parsed and checked (see routes_file for its syntax)."""

from __future__ import annotations

from dataclasses import dataclass, field


class ConfigFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FileUpstream:
    name: str
    url: str
    api_key: str = ""
    timeout: float | None = None
    enabled: bool = True
    max_concurrency: int | None = None
    api: str = "openai"


@dataclass(frozen=True)
class FileTarget:
    upstream: str  # a URL or the name of an upstream
    model: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class FileRoute:
    name: str = ""
    model: str = ""
    source: str = ""
    upstream: str = ""  # a URL or the name of an upstream
    rewrite: str = ""
    strip_thinking: str = ""
    disable_thinking: bool | None = None
    strip_json_markdown: bool | None = None
    cache: bool | None = None
    cache_tool_calls: bool = False
    reasoning_effort: bool = False
    enabled: bool = True
    strategy: str = "fallback"
    targets: tuple[FileTarget, ...] = ()


@dataclass
class FileConfig:
    upstreams: list[FileUpstream] = field(default_factory=list)
    routes: list[FileRoute] = field(default_factory=list)
    model_map: list[tuple[str, str]] = field(default_factory=list)
