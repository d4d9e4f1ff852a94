from __future__ import annotations

from django.apps import AppConfig


class LlmproxyConfig(AppConfig):
    name = "llmproxy"

    def ready(self) -> None:
        from llmproxy.console import follow_worker_signals
        from routing.core import lifecycle

        lifecycle.on_start(follow_worker_signals)
