"""``RedisCache``: the shared cache tier, one Redis for every process.

It stores what the core gives it, under the core's own key (``aexy:<type>:<sha256>``), behind
``AEXY_REDIS_NAMESPACE`` when one is set; the Redis key's TTL is the analysis type's. Clearing is
by key prefix with ``SCAN`` + ``UNLINK`` in batches, never ``FLUSHDB``: other applications' keys
in the same database are left alone.

Failures raise :class:`~aexy_redis.connection.RedisUnavailableError` quickly
(``AEXY_REDIS_TIMEOUT``); the core turns them into cache misses, so a cache never fails an
analysis.
"""

from __future__ import annotations

import math
import random as _random
import time
from typing import TYPE_CHECKING, Any

from aexy_redis.connection import RedisConnection, RedisUnavailableError, connect
from aexy_redis.settings import RedisSettings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from aexy.plugin_api import Clock, Random

__all__ = ["RedisCache", "glob_escape"]

#: Every key the core writes starts with this; ``stats()`` counts the entries under it.
ROOT_PREFIX = "aexy:"

#: INFO fields worth showing next to the cache's own figures.
_SERVER_FIELDS = ("redis_version", "used_memory_human", "maxmemory_policy", "evicted_keys")


def glob_escape(text: str) -> str:
    """``text`` as a literal in a ``SCAN MATCH`` pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisCache:
    """A :class:`~aexy.cache.CacheBackend` on Redis (``AEXY_CACHE_BACKEND=redis``).

    Pass a :class:`RedisSettings` (the plugin host reads them from ``REDIS_URL`` and
    ``AEXY_REDIS_*``), or none to read them here. Nothing is contacted before the first
    operation.
    """

    name = "redis"

    def __init__(self, settings: RedisSettings | None = None, *,
                 clock: Clock = time.monotonic, random: Random = _random.random) -> None:
        self.settings = settings if settings is not None else RedisSettings()
        self.connection: RedisConnection = connect(self.settings, clock=clock, random=random)
        self.namespace = self.settings.namespace
        self.hits = 0
        self.misses = 0
        self.sets = 0

    def __repr__(self) -> str:
        return f"RedisCache({self.connection.url!r}, namespace={self.namespace!r})"

    def key(self, key: str) -> str:
        """The Redis key of a core cache key."""
        return self.namespace + key

    # -- the CacheBackend protocol -------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        name = self.key(key)

        async def op(client: Redis | RedisCluster) -> bytes | str | None:
            return await client.get(name)

        raw = await self.connection.run(op, what="GET")
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        if isinstance(raw, str):
            return raw
        # Not valid UTF-8 means not ours: the core's re-validation turns it into a miss.
        return raw.decode("utf-8", errors="replace")

    async def set(self, key: str, value: str, ttl: float) -> None:
        if not ttl > 0:
            return  # nothing to keep (the memory tier behaves the same)
        name = self.key(key)
        milliseconds = max(1, math.ceil(ttl * 1000))

        async def op(client: Redis | RedisCluster) -> Any:
            return await client.set(name, value.encode(), px=milliseconds)

        await self.connection.run(op, what="SET")
        self.sets += 1

    async def delete(self, key: str) -> bool:
        """Delete one entry (a value the core found corrupt or stale); ``True`` if it existed."""
        name = self.key(key)

        async def op(client: Redis | RedisCluster) -> int:
            return await client.unlink(name)

        return bool(await self.connection.run(op, what="UNLINK"))

    async def clear(self, prefix: str = ROOT_PREFIX) -> int:
        """Delete every key starting with ``prefix`` (within the namespace), in batches of
        ``AEXY_REDIS_SCAN_BATCH``; return how many were deleted.

        :raises RedisUnavailableError: Redis failed part-way; the message says how many keys
            were deleted before.
        """
        pattern = glob_escape(self.key(prefix)) + "*"
        batch_size = self.settings.scan_batch
        deleted = 0

        async def op(client: Redis | RedisCluster) -> None:
            nonlocal deleted
            batch: list[bytes] = []
            async for name in client.scan_iter(match=pattern, count=batch_size):
                batch.append(name)
                if len(batch) >= batch_size:
                    deleted += await client.unlink(*batch)
                    batch = []
            if batch:
                deleted += await client.unlink(*batch)

        try:
            # Each command keeps the fast socket timeout; the whole scan may take longer.
            await self.connection.run(op, what=f"clearing {prefix!r}", limit=math.inf)
        except RedisUnavailableError as exc:
            exc.args = (f"{exc.args[0]} ({deleted} keys were deleted before)",)
            raise
        return deleted

    async def count(self, prefix: str = ROOT_PREFIX) -> int:
        """How many keys start with ``prefix`` (within the namespace): one SCAN of the database."""
        pattern = glob_escape(self.key(prefix)) + "*"
        batch_size = self.settings.scan_batch

        async def op(client: Redis | RedisCluster) -> int:
            n = 0
            async for _ in client.scan_iter(match=pattern, count=batch_size):
                n += 1
            return n

        return await self.connection.run(op, what="counting keys", limit=math.inf)

    async def stats(self) -> dict[str, Any]:
        """This process's hits and misses, the entries under the prefix, and server figures.
        With Redis unavailable, ``available`` is ``False`` and ``error`` says why."""
        c = self.connection
        found: dict[str, Any] = {}
        try:
            found["entries"] = await self.count()
            found.update(await self._server_info())
            found["available"] = True
        except RedisUnavailableError as exc:
            found.update(available=False, error=str(exc))
        return {
            "backend": self.name, "url": c.url, "mode": c.mode, "namespace": self.namespace,
            "hits": self.hits, "misses": self.misses, "sets": self.sets, "errors": c.errors,
            "outages": c.outage.outages, **found,
        }

    async def _server_info(self) -> dict[str, Any]:
        async def op(client: Redis | RedisCluster) -> dict[str, Any]:
            return await client.info()

        info = await self.connection.run(op, what="INFO")
        if info and all(isinstance(v, dict) for v in info.values()):
            # A cluster answers per node ("host:port" -> fields): show the first node's version
            # and policy, and the evictions of all nodes.
            nodes = list(info.values())
            first = dict(nodes[0])
            first["evicted_keys"] = sum(int(n.get("evicted_keys", 0)) for n in nodes)
            first["used_memory_human"] = ", ".join(str(n.get("used_memory_human", "?"))
                                                   for n in nodes)
            info = first
        return {k.removesuffix("_human"): info[k] for k in _SERVER_FIELDS if k in info}

    async def aclose(self) -> None:
        await self.connection.aclose()
