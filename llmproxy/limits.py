"""Limits every request meets in the ASGI application, whichever server runs it: the size
of its headers, a body that stops flowing, the size of a page's body, and the server's cap
on open connections (which the server marks on the scope; see llmproxy.protocol).
"""

from __future__ import annotations

import asyncio

from django.conf import settings

from llmproxy.crossorigin import Refusal

OVER_CAPACITY = "llmproxy.over_capacity"  # set on the scope by the server's protocol


class BodyStalledError(Exception):
    """No part of the request body came for BODY_TIMEOUT seconds."""


class BodyTooLargeError(Exception):
    """A page's request body is over DATA_UPLOAD_MAX_MEMORY_SIZE."""


def header_bytes(scope: dict) -> int:
    """The request line and headers as they came on the wire (near enough)."""
    line = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def headers_too_large() -> Refusal:
    return Refusal(
        431,
        f"The request line and headers are larger than the limit of "
        f"{settings.MAX_HEADER_BYTES} bytes.",
        "headers_too_large",
    )


def refusal(scope: dict) -> Refusal | None:
    """Past the connection cap, or headers over MAX_HEADER_BYTES (a server that let them in)."""
    if scope.get(OVER_CAPACITY):
        return Refusal(
            503,
            "The gateway has too many open connections; try again in a moment.",
            "too_many_connections",
            "server_error",
        )
    if header_bytes(scope) > settings.MAX_HEADER_BYTES:
        return headers_too_large()
    return None


def body_stalled() -> Refusal:
    return Refusal(
        408,
        f"The request body stopped coming for {settings.BODY_TIMEOUT:g} seconds.",
        "request_timeout",
    )


def page_body_too_large() -> Refusal:
    return Refusal(
        413,
        f"The request body is larger than the limit of "
        f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        "request_too_large",
    )


def paced(receive):
    """`receive`, raising BodyStalledError when the body stops coming for BODY_TIMEOUT
    seconds; once the body is whole, waiting (for a disconnect) has no bound."""
    whole = False

    async def receiving() -> dict:
        nonlocal whole
        if whole:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), settings.BODY_TIMEOUT)
        except TimeoutError:
            raise BodyStalledError from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            whole = True
        return message

    return receiving


def declared_length(scope: dict) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def bounded(scope: dict, receive, limit: int):
    """`receive` for a page: BodyTooLargeError as soon as the body is known to pass `limit`
    (by its Content-Length, or as it comes), before Django spools it to disk."""
    if (declared_length(scope) or 0) > limit:
        raise BodyTooLargeError
    size = 0

    async def receiving() -> dict:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise BodyTooLargeError
        return message

    return receiving
