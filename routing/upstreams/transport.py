"""An httpx transport on aiohttp's connection pool.

httpx's own pool checks every idle connection on each request; on a busy
gateway that costs milliseconds of CPU per call. aiohttp's pool does the same
job for a fraction, and this adapter keeps the httpx API for everything else.
Errors are mapped to the httpx exceptions whose meaning they have: refused
connection -> ConnectError, slow connect -> ConnectTimeout, silence while
reading -> ReadTimeout, a peer that hangs up early -> RemoteProtocolError.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx

KEEPALIVE_SECONDS = 4.0  # below the 5 s that uvicorn-based servers (vLLM, …) allow


def _map_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    message = str(exc) or exc.__class__.__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.ReadError(message, request=request)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await self._response.content.readany():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _map_error(exc, self._request) from exc

    async def aclose(self) -> None:
        # An unfinished body means the connection cannot be reused: close it, so the
        # upstream sees the hang-up and stops generating.
        if self._response.content.is_eof():
            self._response.release()
        else:
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int = 200) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ttl_dns_cache=60,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
                cookie_jar=aiohttp.DummyCookieJar(),  # one client's cookies are not another's
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        client_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeout.get("pool"),
            sock_connect=timeout.get("connect"),
            sock_read=timeout.get("read"),
        )
        try:
            body, tries = (request.content if request.method != "GET" else None), (1, 2)
        except httpx.RequestNotRead:  # a streamed upload: sent as it comes, so sent once
            body, tries = request.stream, (2,)
        for attempt in tries:
            try:
                response = await self._get_session().request(
                    request.method,
                    str(request.url),
                    headers=request.headers.multi_items(),
                    data=body,
                    allow_redirects=False,
                    timeout=client_timeout,
                )
                break
            except aiohttp.ServerDisconnectedError as exc:
                # A pooled connection closed by the server just before reuse: try once more.
                if attempt == 2:
                    raise _map_error(exc, request) from exc
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise _map_error(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
