"""Tracing in a serving process: started with the process's background tasks when an OTLP
endpoint is configured, subscribed to the request path's announcements."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from routing.core import hooks
from routing.core.exchange import Exchange

_state: dict[str, object | None] = {"tracing": None}
_dropped_listeners: list[Callable[[int], None]] = []


def current():
    return _state["tracing"]


def request_started(exchange: Exchange) -> None:
    if (tracing := _state["tracing"]) is not None:
        tracing.request_started(exchange)


def request_finished(exchange: Exchange) -> None:
    if (tracing := _state["tracing"]) is not None:
        tracing.request_finished(exchange)


def on_dropped(listener: Callable[[int], None]) -> None:
    """Call `listener(n)` whenever n spans are dropped (the metrics count them)."""
    if listener not in _dropped_listeners:
        _dropped_listeners.append(listener)


def start_tracing(config=None, exporter=None):
    config = config or settings.TRACING
    if _state["tracing"] is None and config.enabled:
        from recording.tracing.tracer import Tracing  # the SDK loads only where it is used

        tracing = Tracing(config, exporter)
        tracing.batcher.dropped_listeners.extend(_dropped_listeners)
        _state["tracing"] = tracing
        hooks.on_started(request_started)
        hooks.on_finished(request_finished)
    return _state["tracing"]


def stop_tracing() -> None:
    tracing, _state["tracing"] = _state["tracing"], None
    if tracing is not None:
        tracing.shutdown()


async def run_tracing() -> None:
    """A background task of each serving process: start, then end spans as requests finish."""
    if (tracing := start_tracing()) is not None:
        await tracing.run()


async def close_tracing() -> None:
    import asyncio

    await asyncio.to_thread(stop_tracing)
