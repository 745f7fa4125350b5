"""aexy-example-cache: the ``example-sqlite`` cache backend of ``docs/writing-plugins.md``.

``AEXY_CACHE_BACKEND=example-sqlite`` keeps results in one SQLite file that every aexy process
on the machine shares (``EXAMPLE_SQLITE_PATH``).
"""

from __future__ import annotations

from aexy.plugin_api import CacheBackendSpec, hookimpl
from aexy_example_cache.backend import SqliteCache, SqliteCacheSettings

__all__ = ["SqliteCache", "SqliteCacheSettings", "register_cache_backends"]
__version__ = "0.1.0"


def build(settings: SqliteCacheSettings) -> SqliteCache:
    """The factory: the host reads ``SqliteCacheSettings`` from the environment and passes it."""
    return SqliteCache(settings.path, busy_timeout=settings.busy_timeout)


@hookimpl
def register_cache_backends() -> list[CacheBackendSpec]:
    return [CacheBackendSpec(
        name="example-sqlite",
        factory=build,  # annotated: the host checks SqliteCache's members when loading
        description="one SQLite file shared by every process on the machine",
        settings_class=SqliteCacheSettings,
    )]
