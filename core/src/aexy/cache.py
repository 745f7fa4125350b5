"""Cache backends and the cache key.

Values are JSON strings of validated results. Keys are ``aexy:<type>:<sha256>``: the type stays
readable (so ``aexy cache clear --type`` can match a prefix) and everything else is hashed, so
neither content nor any secret can be read from a key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cachetools import TLRUCache

from aexy.analysis import canonical_json
from aexy.settings import PluginSettings

__all__ = [
    "KEY_NAMESPACE",
    "CacheBackend",
    "CacheBackendSpec",
    "MemoryCache",
    "cache_key",
]

#: Bump to invalidate every cached value written by an older key scheme.
KEY_NAMESPACE = "aexy:v1"


def cache_key(
    *,
    analysis_type: str,
    spec_version: str,
    prompt_version: str,
    schema_hash: str,
    provider: str,
    model: str,
    content: str,
    context_json: str,
) -> str:
    """The cache key of the design: every input that can change the answer, and nothing secret."""
    material = canonical_json(
        [KEY_NAMESPACE, analysis_type, spec_version, prompt_version, schema_hash, provider, model,
         content, context_json]
    )
    digest = hashlib.sha256(material.encode()).hexdigest()
    return f"aexy:{analysis_type}:{digest}"


def type_prefix(analysis_type: str | None) -> str:
    return f"aexy:{analysis_type}:" if analysis_type else "aexy:"


@runtime_checkable
class CacheBackend(Protocol):
    """A cache tier. All methods are async so that network backends fit the same shape."""

    name: str

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float) -> None: ...

    async def clear(self, prefix: str = "aexy:") -> int:
        """Delete keys starting with ``prefix``; return how many were deleted."""
        ...

    async def stats(self) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CacheBackendSpec:
    """What ``register_cache_backends`` returns.

    :param name: what ``AEXY_CACHE_BACKEND`` selects.
    :param factory: ``factory(settings) -> CacheBackend``, called when a gateway is built, with
        an instance of ``settings_class`` when one is given (read from the environment and
        ``.env``), else with the core's :class:`~aexy.settings.AexySettings`. Give the backend
        class itself, or annotate the factory's return type, so that the plugin host can check
        the backend's members when the plugin loads; the instance is checked when it is built.
    :param description: one line for ``aexy plugins``.
    :param settings_class: the backend's own settings, a
        :class:`~aexy.settings.PluginSettings` subclass with its own ``env_prefix``; shown by
        ``aexy config``.
    """

    name: str
    factory: Callable[[Any], CacheBackend]
    description: str = ""
    settings_class: type[PluginSettings] | None = None


class MemoryCache:
    """Bounded in-process cache with a TTL per entry (cachetools ``TLRUCache``)."""

    name = "memory"

    def __init__(self, maxsize: int = 1000, *, timer: Callable[[], float] = time.monotonic) -> None:
        # Each entry is (value, ttl); the TLRU "time to use" is computed per entry at insertion.
        self._data: TLRUCache[str, tuple[str, float]] = TLRUCache(
            maxsize=maxsize, ttu=lambda _k, v, now: now + v[1], timer=timer
        )
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            self.misses += 1
            return None
        self.hits += 1
        return item[0]

    async def set(self, key: str, value: str, ttl: float) -> None:
        if ttl > 0:
            self._data[key] = (value, float(ttl))

    async def clear(self, prefix: str = "aexy:") -> int:
        doomed = [k for k in list(self._data.keys()) if k.startswith(prefix)]
        for k in doomed:
            self._data.pop(k, None)
        return len(doomed)

    async def stats(self) -> dict[str, Any]:
        self._data.expire()
        return {
            "backend": self.name,
            "entries": len(self._data),
            "maxsize": self._data.maxsize,
            "hits": self.hits,
            "misses": self.misses,
        }

    async def aclose(self) -> None:
        return None
