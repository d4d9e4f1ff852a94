"""The request path's two announcements: a request started, a request finished.

The path itself only announces; whoever wants to know subscribes when its app is
ready (the recording writer, the response cache, the console lines). Subscribers run
on the event loop inside the request, so they must be cheap and never block: append
to a queue, print a line. A subscriber that fails is logged and never fails the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from routing.core.exchange import Exchange

log = logging.getLogger(__name__)

Subscriber = Callable[[Exchange], None]
_started: list[Subscriber] = []
_finished: list[Subscriber] = []


def on_started(subscriber: Subscriber) -> None:
    if subscriber not in _started:
        _started.append(subscriber)


def on_finished(subscriber: Subscriber) -> None:
    if subscriber not in _finished:
        _finished.append(subscriber)


def _tell(subscribers: list[Subscriber], exchange: Exchange) -> None:
    for subscriber in subscribers:
        try:
            subscriber(exchange)
        except Exception:  # an observer's bug must not cost the client its answer
            log.exception("subscriber %s failed for request %s", subscriber, exchange.id)


def announce_started(exchange: Exchange) -> None:
    _tell(_started, exchange)


def announce_finished(exchange: Exchange) -> None:
    _tell(_finished, exchange)
