"""The HTTP transport for aexy's providers: httpx's API on httpcore2's connection pool, and a
pool that cannot lock up silently.

Why not httpx's own transport (httpcore 1.x), measured in ``docs/benchmarks.md#transport``:

* **Lost slots.** A request cancelled while it waits for a connection (the gateway cuts an
  attempt that outlives its timeout) can leave the connection created for it in the pool,
  never connected and never released (encode/httpcore#1093). After one stall of a server, a
  pool of 16 held 16 such slots and 0 of 64 later calls succeeded, whatever the server did.
* **CPU.** Every request start and end rescans every connection once per connection
  (encode/httpcore#1035): at 64 and 256 callers on a pool of 256, httpx spends most of its time
  there and falls to about half the throughput of its own defaults.

httpcore2 (the pool of httpx2, which the Anthropic SDK uses) drops such connections and assigns
requests in one pass. ``httpx2`` itself would need every provider, test and third-party plugin
to change its types (``httpx2.Response``...); this module gives httpx-based code httpcore2's pool
behind the unchanged httpx API, in one argument::

    client = pooled_client(timeout=60.0, max_connections=256, headers=..., auth=...)
    # or: httpx.AsyncClient(transport=PoolTransport(max_connections=256), ...)

The adapter (request and response conversion, exception mapping) mirrors what
``httpx.AsyncHTTPTransport`` does for httpcore, written here because httpx has no switch for
another pool. On top, :class:`PoolTransport` watches its pool: a connection that is busy while
no request holds it has been lost; when one is still lost a check later, the pool is replaced
by a fresh one (requests under way finish on the old one, which is then closed) and one warning
per incident says so (:class:`~aexy.resilience.incident.IncidentLog`). Importing this module
imports httpx and httpcore2: providers import it when they build their client, never at import
time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpcore2
import httpx

from aexy.resilience.incident import IncidentLog

if TYPE_CHECKING:
    import ssl

    from aexy.resilience.clock import Clock

__all__ = ["PoolTransport", "pooled_client"]

logger = logging.getLogger("aexy")

#: Seconds between two looks at the pool for lost connections (a look costs one pass over the
#: connections and requests, so it is not made per request).
CHECK_INTERVAL = 1.0

# httpcore2's exceptions and the httpx ones httpx raises for httpcore's; the most specific first.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.ProtocolError, httpx.ProtocolError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    for theirs, ours in _EXCEPTIONS:
        if isinstance(exc, theirs):
            return ours(str(exc), request=request)
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    """The pool's response body as httpx reads it; its errors as httpx's."""

    __slots__ = ("_done", "_request", "_stream")

    def __init__(self, stream: Any, request: httpx.Request, done: Callable[[], None]) -> None:
        self._stream = stream
        self._request = request
        self._done = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            mapped = _as_httpx(exc, self._request)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._done()


class PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport on an ``httpcore2.AsyncConnectionPool``.

    :param max_connections: connections kept open, busy or idle (every one is kept while idle,
        so concurrent callers reuse them rather than connect again).
    :param name: what the warning calls the pool (``"openai at https://***@host/v1"``);
        never a URL with credentials.
    :param verify, trust_env, http2, keepalive_expiry: as for ``httpx.AsyncHTTPTransport``.
    """

    def __init__(self, *, max_connections: int = 256, keepalive_expiry: float = 5.0,
                 verify: ssl.SSLContext | str | bool = True, trust_env: bool = True,
                 http2: bool = False, name: str = "HTTP connection pool",
                 clock: Clock = time.monotonic, check_interval: float = CHECK_INTERVAL) -> None:
        self.max_connections = max_connections
        self.name = name
        self._pool_options: dict[str, Any] = {
            "ssl_context": httpx.create_ssl_context(verify=verify, trust_env=trust_env),
            "max_connections": max_connections, "max_keepalive_connections": max_connections,
            "keepalive_expiry": keepalive_expiry, "http1": True, "http2": http2}
        self._pool = self._make_pool()
        self._clock = clock
        self._check_interval = check_interval
        self._checked_at = clock()
        self._lost: set[int] = set()  # connections seen lost at the last check (by id)
        #: Requests under way per pool (from the request until its body is closed).
        self._under_way: dict[httpcore2.AsyncConnectionPool, int] = {}
        self._retired: list[httpcore2.AsyncConnectionPool] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._incident = IncidentLog(name, clock=clock)
        self.rebuilt = 0

    # -- httpx's transport interface -------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._clock() - self._checked_at >= self._check_interval:
            self._check()
        pool = self._pool
        self._under_way[pool] = self._under_way.get(pool, 0) + 1
        url = request.url
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                              target=url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        try:
            response = await pool.handle_async_request(core_request)
        except BaseException as exc:
            self._finished(pool)
            mapped = _as_httpx(exc, request) if isinstance(exc, Exception) else exc
            if mapped is exc:
                raise
            raise mapped from exc
        self._incident.succeeded()
        return httpx.Response(
            status_code=response.status, headers=response.headers,
            stream=_ResponseStream(response.stream, request, lambda: self._finished(pool)),
            extensions=response.extensions)

    async def aclose(self) -> None:
        pools = [self._pool, *self._retired]
        self._retired.clear()
        for pool in pools:
            await pool.aclose()

    def _make_pool(self) -> httpcore2.AsyncConnectionPool:
        return httpcore2.AsyncConnectionPool(**self._pool_options)

    # -- the watch -------------------------------------------------------------------------------
    def _finished(self, pool: httpcore2.AsyncConnectionPool) -> None:
        left = self._under_way[pool] = self._under_way[pool] - 1
        if left == 0 and pool in self._retired:
            self._retired.remove(pool)
            del self._under_way[pool]
            self._close_later(pool)

    def lost_connections(self) -> int:
        """Connections of the current pool that are busy while no request holds them."""
        return len(self._lost_now())

    def _lost_now(self) -> set[int]:
        pool = self._pool
        held = {id(r.connection) for r in pool._requests if r.connection is not None}
        return {id(c) for c in pool.connections
                if not c.is_idle() and not c.is_closed() and id(c) not in held}

    def _check(self) -> None:
        self._checked_at = self._clock()
        try:
            lost = self._lost_now()
        except AttributeError:  # another httpcore2 layout: no watch rather than a crash
            self._check_interval = float("inf")
            logger.debug("cannot inspect the %s; its watch is off", self.name)
            return
        still_lost = lost & self._lost
        self._lost = lost
        if still_lost:
            self._rebuild(len(still_lost))

    def _rebuild(self, lost: int) -> None:
        old, self._pool = self._pool, self._make_pool()
        self._lost = set()
        self.rebuilt += 1
        if self._under_way.get(old, 0):
            self._retired.append(old)  # closed when its last request ends
        else:
            self._under_way.pop(old, None)
            self._close_later(old)
        self._incident.failed("lost %d of %d connections (busy with no request); it was "
                              "replaced by a new pool", lost, self.max_connections,
                              extra={"pool": self.name})

    def _close_later(self, pool: httpcore2.AsyncConnectionPool) -> None:
        task = asyncio.get_running_loop().create_task(pool.aclose())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    def snapshot(self) -> dict[str, Any]:
        """What the pool holds now: connections, busy ones, lost ones, requests under way, and
        how often it was replaced."""
        connections = self._pool.connections
        return {
            "connections": len(connections),
            "busy": sum(not c.is_idle() and not c.is_closed() for c in connections),
            "lost": self.lost_connections(),
            "under_way": self._under_way.get(self._pool, 0),
            "max_connections": self.max_connections,
            "rebuilt": self.rebuilt,
        }


def pooled_client(*, timeout: float, max_connections: int = 256,
                  headers: Mapping[str, str] | None = None, auth: httpx.Auth | None = None,
                  base_url: str = "", name: str = "HTTP connection pool",
                  transport: httpx.AsyncBaseTransport | None = None,
                  **client_options: Any) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` a provider calls through: a :class:`PoolTransport` of
    ``max_connections`` (unless ``transport`` is given, as tests give ``httpx.MockTransport``),
    ``timeout`` seconds for each phase of a request (connecting, waiting for a pooled
    connection, sending, reading) unless a call passes its own, no redirects followed."""
    if transport is None:
        transport = PoolTransport(max_connections=max_connections, name=name)
    client_options.setdefault("follow_redirects", False)
    return httpx.AsyncClient(transport=transport, headers=headers, auth=auth,
                             base_url=base_url, timeout=httpx.Timeout(timeout),
                             **client_options)
