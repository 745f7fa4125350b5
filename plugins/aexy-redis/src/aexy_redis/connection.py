"""One Redis connection for the cache backend or the rate limiter: the URL forms, fast timeouts,
the pause between tries during an outage, and errors that never carry the password.

URL forms (``docs/deployment.md``)::

    redis://[[user]:password@]host[:port][/db][?option=value...]
    rediss://...                                   TLS
    unix://[[user]:password@]/path/to/redis.sock[?db=N]
    redis+sentinel://[[user]:password@]host:26379[,host:26379...]/service[/db]
    rediss+sentinel://...                          TLS to Sentinels and the master
    redis+cluster://[[user]:password@]host:7000[,host:7001...]
    rediss+cluster://...                           TLS

``redis`` is imported here, and this module is only imported when a backend or limiter is built:
loading the plugin (``aexy plugins``) stays cheap.
"""

from __future__ import annotations

import asyncio
import math
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aexy.plugin_api import (
    AexyError,
    Clock,
    ConfigurationError,
    Random,
    public_url,
    scrub,
    split_credentials,
    url_secrets,
)
from aexy_redis.settings import RedisSettings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.sentinel import Sentinel

__all__ = [
    "Outage",
    "RedisConnection",
    "RedisUnavailableError",
    "connect",
    "parse_redis_url",
]

T = TypeVar("T")
Mode = Literal["standalone", "sentinel", "cluster"]

_SCHEMES: dict[str, tuple[Mode, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "unix": ("standalone", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}


class RedisUnavailableError(AexyError):
    """A Redis operation failed or timed out. The message never holds the password.

    :param outage: ``True`` for a connection problem (Redis down, unreachable, too slow), which
        starts the pause between tries; ``False`` for an error Redis answered with.
    :param retry_in: seconds until Redis is tried again (0 when it will be tried at once).
    """

    def __init__(self, message: str, *, outage: bool = True, retry_in: float = 0.0) -> None:
        super().__init__(message)
        self.outage = outage
        self.retry_in = retry_in


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """A parsed ``REDIS_URL``: what to connect to, and how to show it (credentials masked)."""

    mode: Mode
    tls: bool
    public: str
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    #: redis-py connection arguments from the URL (host, port, db, username, password, query
    #: options). Never shown: it may hold the password.
    kwargs: dict[str, Any] = field(default_factory=dict, repr=False)


def parse_redis_url(url: str) -> RedisTarget:
    """Parse ``url`` (see the module docs).

    :raises ConfigurationError: an unsupported scheme or a malformed URL, naming ``REDIS_URL``
        and showing the URL with its credentials masked.
    """
    shown = public_url(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _SCHEMES:
        raise ConfigurationError(
            f"REDIS_URL {shown!r} is not a Redis URL; use one of "
            f"{', '.join(s + '://' for s in _SCHEMES)} (see docs/deployment.md)",
            env_var="REDIS_URL")
    mode, tls = _SCHEMES[scheme]
    if _unescaped_credentials(url):
        raise ConfigurationError(
            f"REDIS_URL {shown!r} is malformed: its user name or password holds '/', '?' or "
            "'#', which a URL must percent-encode (%2F, %3F, %23); see docs/deployment.md",
            env_var="REDIS_URL")
    try:
        if mode == "standalone":
            return RedisTarget(mode, tls, shown, kwargs=_redis_py_kwargs(url, ssl_flag=False))
        # host:port,host:port lists are not URLs urllib can split: take the node list out and
        # let redis-py parse a one-host URL holding the credentials, path and options.
        rest, _, query = rest.partition("?")
        netloc, _, tail = rest.partition("/")
        creds, _, hosts = netloc.rpartition("@")
        default_port = 26379 if mode == "sentinel" else 6379
        nodes = tuple(_host_port(h, default_port) for h in hosts.split(",") if h.strip())
        if not nodes:
            raise ValueError("no host given")
        path = [unquote(p) for p in tail.split("/") if p]
        service = ""
        if mode == "sentinel":
            if not path:
                raise ValueError("the Sentinel service name is missing, as in "
                                 "redis+sentinel://host:26379/mymaster/0")
            service, path = path[0], path[1:]
        elif path:
            raise ValueError("a cluster has no database number")
        one = ("rediss" if tls else "redis") + "://" + (creds + "@" if creds else "") + \
            "localhost" + ("/" + path[0] if path else "") + ("?" + query if query else "")
        kwargs = _redis_py_kwargs(one, ssl_flag=True)
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        return RedisTarget(mode, tls, shown, nodes, service, kwargs)
    except ValueError as exc:
        reason = scrub(str(exc), *url_secrets(url))
    raise ConfigurationError(f"REDIS_URL {shown!r} is malformed: {reason} "
                             "(see docs/deployment.md)", env_var="REDIS_URL")


def _redis_py_kwargs(url: str, *, ssl_flag: bool) -> dict[str, Any]:
    """redis-py's own reading of a URL. ``ssl_flag``: Sentinel and Cluster clients take
    ``ssl=True`` where a connection pool takes ``connection_class=SSLConnection``."""
    from redis.asyncio.connection import SSLConnection, parse_url

    kwargs: dict[str, Any] = dict(parse_url(url))
    if ssl_flag and kwargs.pop("connection_class", None) is SSLConnection:
        kwargs["ssl"] = True
    return kwargs


def _host_port(text: str, default: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [ipv6]:port
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise ValueError(f"bad host {text!r}")
    return host, int(port) if port else default


def _unescaped_credentials(url: str) -> bool:
    """Whether the URL's user name or password holds a character a URL parser takes for the
    end of the authority (redis-py would read part of the password as the port)."""
    bare, credentials = split_credentials(url)
    if credentials is None:
        return False
    userinfo = url.partition("://")[2][:len(url) - len(bare) - 1]
    return any(c in userinfo for c in "/?#")


class Outage:
    """Whether Redis is being given a pause after failing, and until when.

    After a failure, operations fail at once (without touching the network) for a pause that
    doubles with each further failure, from ``base`` up to ``cap`` seconds, with jitter so that
    many processes do not all come back at the same instant. A success ends the outage.

    Operations that were already in flight when a failure was recorded do not lengthen the
    pause: only one failure per try counts (``epoch``).
    """

    def __init__(self, base: float, cap: float, *, clock: Clock = time.monotonic,
                 random: Random = _random.random) -> None:
        self.base = base
        self.cap = cap
        self._clock = clock
        self._random = random
        self.failures = 0
        self.epoch = 0
        self.retry_at = -math.inf
        self.outages = 0
        self.last_error = ""

    @property
    def down(self) -> bool:
        return self.failures > 0

    def retry_in(self) -> float:
        """Seconds until Redis may be tried again (0: try now)."""
        return max(0.0, self.retry_at - self._clock())

    def failed(self, epoch: int, error: str) -> None:
        if epoch != self.epoch:
            return  # started before the failure that is already being waited out
        if self.failures == 0:
            self.outages += 1
        self.failures += 1
        self.epoch += 1
        self.last_error = error
        pause = min(self.cap, self.base * 2 ** (self.failures - 1))
        self.retry_at = self._clock() + pause * (0.5 + 0.5 * self._random())

    def succeeded(self) -> None:
        if self.failures:
            self.failures = 0
            self.epoch += 1
            self.retry_at = -math.inf


class RedisConnection:
    """A redis-py client (standalone, Sentinel or Cluster) and the rules around every call.

    :meth:`run` bounds an operation by ``settings.timeout``, fails at once while an
    :class:`Outage` pause lasts, and turns every failure into :class:`RedisUnavailableError`
    raised outside the ``except`` block, so neither the message nor ``__context__`` can lead to
    the client or the password.
    """

    def __init__(self, settings: RedisSettings, *, clock: Clock = time.monotonic,
                 random: Random = _random.random, timeout: float | None = None,
                 timeout_setting: str = "AEXY_REDIS_TIMEOUT") -> None:
        self.settings = settings
        #: Seconds one operation may take (``settings.timeout`` unless given), and the
        #: setting that says so (named in errors).
        self.timeout = settings.timeout if timeout is None else timeout
        self.timeout_setting = timeout_setting
        self.target = parse_redis_url(settings.url.get_secret_value())
        self.outage = Outage(settings.backoff_base, settings.backoff_cap, clock=clock,
                             random=random)
        self.errors = 0
        self._sentinel: Sentinel | None = None
        self.client: Redis | RedisCluster = self._build()

    @property
    def url(self) -> str:
        """The URL with credentials masked."""
        return self.target.public

    @property
    def mode(self) -> Mode:
        return self.target.mode

    def __repr__(self) -> str:
        return f"RedisConnection({self.target.public!r}, mode={self.target.mode!r})"

    def _build(self) -> Redis | RedisCluster:
        from redis.asyncio import ConnectionPool, Redis
        from redis.asyncio.cluster import ClusterNode, RedisCluster
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialWithJitterBackoff

        s, t = self.settings, self.target
        common: dict[str, Any] = {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            # A command on a pooled connection that died with a Redis restart is sent again
            # once on a fresh one; everything else is the caller's (fast) failure.
            "retry": Retry(ExponentialWithJitterBackoff(base=0.005, cap=0.02), s.retries),
            "client_name": "aexy",
        }
        kwargs = {**t.kwargs, **common}
        if t.mode == "cluster":
            kwargs.pop("db", None)
            return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in t.nodes],
                                max_connections=s.max_connections, **kwargs)
        if t.mode == "sentinel":
            from redis.asyncio.sentinel import Sentinel

            sentinel_kwargs: dict[str, Any] = {
                "socket_timeout": self.timeout, "socket_connect_timeout": self.timeout}
            if t.tls:
                sentinel_kwargs["ssl"] = True
            if s.sentinel_password is not None:
                sentinel_kwargs["password"] = s.sentinel_password.get_secret_value()
            # Called through a typed alias: redis-py annotates Sentinel.__init__ only in its
            # newer releases, and an ignore for the older ones is an error under the newer.
            make_sentinel: Callable[..., Sentinel] = Sentinel
            self._sentinel = make_sentinel(list(t.nodes), sentinel_kwargs=sentinel_kwargs,
                                           **kwargs)
            master: Redis = self._sentinel.master_for(t.service,
                                                      max_connections=s.max_connections)
            return master
        # The client owns (and closes) the pool it is built from.
        return Redis.from_pool(ConnectionPool(max_connections=s.max_connections, **kwargs))

    def _secrets(self) -> tuple[str | None, ...]:
        s = self.settings
        return (*url_secrets(s.url.get_secret_value()), self.target.kwargs.get("password"),
                s.sentinel_password.get_secret_value() if s.sentinel_password else None)

    def describe(self, exc: BaseException) -> str:
        """A one-line account of ``exc`` with every secret we hold masked."""
        if isinstance(exc, TimeoutError) and not str(exc):
            text = f"no answer within {self.timeout:g}s ({self.timeout_setting})"
        else:
            text = f"{type(exc).__name__}: {exc}"
        return scrub(text, *self._secrets())

    async def run(self, op: Callable[[Redis | RedisCluster], Awaitable[T]], *, what: str,
                  limit: float | None = None) -> T:
        """Run ``op(client)`` within ``limit`` seconds (default :attr:`timeout`;
        ``math.inf`` for none beyond the per-command socket timeouts, as ``clear`` needs).

        :raises RedisUnavailableError: at once during an outage pause, or when ``op`` fails.
        """
        wait = self.outage.retry_in()
        if wait > 0:
            self.errors += 1
            raise RedisUnavailableError(
                f"Redis at {self.url} is unavailable ({self.outage.last_error}); "
                f"next try in {wait:.2f}s", retry_in=wait)
        if limit is None:
            limit = self.timeout
        epoch = self.outage.epoch
        try:
            async with asyncio.timeout(limit if math.isfinite(limit) else None):
                result = await op(self.client)
        except (RedisConnectionError, RedisTimeoutError, RedisClusterException, OSError,
                TimeoutError) as exc:
            message, outage = self.describe(exc), True
        except RedisError as exc:  # Redis answered, with an error: not an outage
            message, outage = self.describe(exc), False
        else:
            self.outage.succeeded()
            return result
        # Raised here, outside the except block: the new error has no __context__.
        self.errors += 1
        if outage:
            self.outage.failed(epoch, message)
        raise RedisUnavailableError(f"Redis at {self.url}: {what} failed: {message}",
                                    outage=outage, retry_in=self.outage.retry_in())

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._sentinel is not None:
            await self._sentinel.aclose()


def connect(settings: RedisSettings | None = None, *, clock: Clock = time.monotonic,
            random: Random = _random.random, timeout: float | None = None,
            timeout_setting: str = "AEXY_REDIS_TIMEOUT") -> RedisConnection:
    """A :class:`RedisConnection` from ``settings`` (the environment when omitted). Nothing is
    contacted until the first operation."""
    return RedisConnection(settings if settings is not None else RedisSettings(), clock=clock,
                           random=random, timeout=timeout, timeout_setting=timeout_setting)
