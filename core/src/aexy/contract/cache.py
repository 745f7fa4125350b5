"""The cache backend a plugin implements, and the record it registers it with.

The core puts its memory tier in front of the backend, encodes and validates every value, and
turns any error of the backend into a miss: a backend stores strings under keys, nothing more.
Members added to the protocol after a release get a default here (:func:`with_defaults`), so a
backend written against an older release keeps working: see the compatibility policy in
``docs/plugins.md``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from aexy.settings import PluginSettings

__all__ = [
    "OPTIONAL_BACKEND_MEMBERS",
    "CacheBackend",
    "CacheBackendSpec",
    "backend_methods",
    "with_defaults",
]


@runtime_checkable
class CacheBackend(Protocol):
    """A shared cache backend (the memory tier sits in front of it). Every method is async so
    that network backends fit; values are strings; ``ttl`` is in seconds. A backend may raise on
    any operation: the core turns errors into misses and never fails an analysis.

    ``name`` and ``delete`` are optional (:data:`OPTIONAL_BACKEND_MEMBERS`): without them the
    backend is named after its :class:`CacheBackendSpec`, and a corrupt entry stays until the
    next write of its key replaces it.
    """

    #: The backend's name, shown by ``aexy cache stats``; the spec's name when absent.
    name: str

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        ...

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds."""
        ...

    async def delete(self, key: str) -> bool | None:
        """Remove ``key`` (a corrupt or stale value found by a reader); may say whether it
        existed."""
        ...

    async def clear(self, prefix: str = "aexy:") -> int:
        """Delete keys starting with ``prefix``; return how many were deleted."""
        ...

    async def stats(self) -> dict[str, Any]:
        """Figures for ``aexy cache stats`` (entries, hits, misses, ...)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


#: Members a backend may leave out, with the plugin API version that added each: the core
#: supplies a default (:func:`with_defaults`), so adding one never breaks an installed backend.
OPTIONAL_BACKEND_MEMBERS: Final = {"name": "1.0", "delete": "1.0"}


def backend_methods() -> dict[str, inspect.Signature]:
    """The methods of :class:`CacheBackend` and their signatures (without ``self``), read from
    the protocol itself: the load checks and the conformance suite use this, never a copy."""
    methods: dict[str, inspect.Signature] = {}
    for name, member in vars(CacheBackend).items():
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        signature = inspect.signature(member)
        params = list(signature.parameters.values())[1:]
        methods[name] = signature.replace(parameters=params)
    return methods


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


class _Defaulted:
    """A backend without some optional member, given its default."""

    __slots__ = ("_backend", "name")

    def __init__(self, backend: Any, name: str) -> None:
        self._backend = backend
        self.name = name

    async def get(self, key: str) -> str | None:
        value: str | None = await self._backend.get(key)
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._backend.set(key, value, ttl)

    async def delete(self, key: str) -> bool | None:
        delete = getattr(self._backend, "delete", None)
        if delete is None:
            return None  # the next write of this key replaces the corrupt value
        found: bool | None = await delete(key)
        return found

    async def clear(self, prefix: str = "aexy:") -> int:
        count: int = await self._backend.clear(prefix)
        return count

    async def stats(self) -> dict[str, Any]:
        figures: dict[str, Any] = await self._backend.stats()
        return figures

    async def aclose(self) -> None:
        await self._backend.aclose()

    def __getattr__(self, attribute: str) -> Any:  # anything else the backend offers
        return getattr(self._backend, attribute)

    def __repr__(self) -> str:
        return repr(self._backend)


def with_defaults(backend: Any, name: str) -> CacheBackend:
    """``backend`` itself when it has every member of :class:`CacheBackend`; otherwise a thin
    wrapper that supplies the optional ones (:data:`OPTIONAL_BACKEND_MEMBERS`): ``name`` from
    its spec, a ``delete`` that leaves the key to be overwritten."""
    own = getattr(backend, "name", None)
    if isinstance(own, str) and own and callable(getattr(backend, "delete", None)):
        return backend  # type: ignore[no-any-return]
    return _Defaulted(backend, own if isinstance(own, str) and own else name)
