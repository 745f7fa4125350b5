"""``SqliteCache``: a cache backend in one SQLite file.

sqlite3 is blocking, so each operation runs in a worker thread (``asyncio.to_thread``) on one
connection guarded by a lock. The file opens on first use; while it cannot be opened (a missing
directory, a full disk) reads are misses and writes are dropped, as the cache contract asks: a
cache never fails an analysis. It is retried on the next operation.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import PluginSettings

__all__ = ["SqliteCache", "SqliteCacheSettings"]

logger = logging.getLogger("aexy.example_cache")
T = TypeVar("T")

_SCHEMA = ("CREATE TABLE IF NOT EXISTS entries ("
           "key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)")


class SqliteCacheSettings(PluginSettings):
    """``EXAMPLE_SQLITE_PATH`` and ``EXAMPLE_SQLITE_BUSY_TIMEOUT`` (or ``.env``); shown by
    ``aexy config``."""

    model_config = SettingsConfigDict(env_prefix="EXAMPLE_SQLITE_")

    #: ``EXAMPLE_SQLITE_PATH``: the database file; its directory must exist.
    path: str = ".aexy-cache.sqlite3"
    #: ``EXAMPLE_SQLITE_BUSY_TIMEOUT``: seconds to wait for another process's write lock.
    busy_timeout: float = 5.0


class SqliteCache:
    """Values with an expiry time in one table; expired rows are skipped and swept on write.

    :param path: the database file.
    :param clock: wall-clock seconds (entries outlive the process, so not a monotonic clock);
        tests inject one to expire entries without waiting.
    """

    name = "example-sqlite"

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteCache(path={str(self.path)!r})"

    # -- plumbing ------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, check_same_thread=False,
                                 isolation_level=None)  # autocommit: one statement, one write
            try:
                db.execute(_SCHEMA)
            except sqlite3.Error:
                db.close()
                raise
            self._db = db
        return self._db

    async def _run(self, op: Callable[[sqlite3.Connection], T], fallback: T) -> T:
        def locked() -> T:
            with self._lock:
                return op(self._connect())

        try:
            return await asyncio.to_thread(locked)
        except sqlite3.Error as exc:
            self.errors += 1
            logger.warning("sqlite cache unavailable; treated as a miss",
                           extra={"path": str(self.path), "error": type(exc).__name__})
            return fallback

    # -- the CacheBackend protocol -------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        now = self.clock()

        def op(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM entries WHERE key = ? AND expires > ?",
                             (key, now)).fetchone()
            return None if row is None else str(row[0])

        value = await self._run(op, None)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        if ttl <= 0:
            return
        now = self.clock()

        def op(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                       (key, value, now + ttl))
            db.execute("DELETE FROM entries WHERE expires <= ?", (now,))

        await self._run(op, None)

    async def delete(self, key: str) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount > 0

        return await self._run(op, False)

    async def clear(self, prefix: str = "aexy:") -> int:
        def op(db: sqlite3.Connection) -> int:
            # substr, not LIKE: a prefix may hold % or _.
            cursor = db.execute("DELETE FROM entries WHERE substr(key, 1, ?) = ?",
                                (len(prefix), prefix))
            return int(cursor.rowcount)

        return await self._run(op, 0)

    async def stats(self) -> dict[str, Any]:
        now = self.clock()

        def op(db: sqlite3.Connection) -> int | None:
            row = db.execute("SELECT count(*) FROM entries WHERE expires > ?", (now,)).fetchone()
            return int(row[0])

        entries = await self._run(op, None)
        return {"backend": self.name, "path": str(self.path), "entries": entries,
                "hits": self.hits, "misses": self.misses, "errors": self.errors}

    async def aclose(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()
