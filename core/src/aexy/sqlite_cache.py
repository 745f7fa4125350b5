"""``SqliteCache``: the built-in ``sqlite`` cache backend, one file on this machine.

Results outlive the process: a rerun after Ctrl-C pays for nothing it already has. Every aexy
process of the user shares the file (``AEXY_CACHE_PATH``; by default ``cache.sqlite3`` in the
platform's user cache directory, e.g. ``~/.cache/aexy`` on Linux).

* **Off the event loop.** sqlite3 blocks, so every operation runs on one worker thread that owns
  the connection (a single-thread executor: no lock, the connection never changes thread). The
  stdlib is enough here; aiosqlite would add a dependency for the same twenty lines.
* **Several processes.** WAL journal (readers never wait for a writer), ``synchronous=NORMAL``
  (a commit is atomic and survives a killed process; only a power cut may lose the last
  ones), a busy timeout for writers, and every write in one ``BEGIN IMMEDIATE`` transaction.
* **Bounded.** Each entry has its own expiry (wall-clock time: it outlives the process) and
  expired rows are swept on write. The stored bytes are bounded (``AEXY_CACHE_MAX_BYTES``):
  past the bound, the least recently used entries go first. "Used" is refreshed by a hit at
  most once per ``touch_interval`` seconds, so a hit is a read, not a write, almost always.
* **Never fails an analysis.** A file that is corrupt, not a database, or unreadable is moved
  aside (``cache.sqlite3.corrupt-<time>``, the newest three kept) and a new one is created.
  Anything else that goes wrong (a missing directory that cannot be made, a full disk, a lock
  held too long) makes reads misses and drops writes, logged once per outage and counted in
  ``stats()``; it is tried again on the next operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aexy.cache import CacheBackendError
from aexy.log import logger

if TYPE_CHECKING:
    import sqlite3

    from aexy.settings import AexySettings

__all__ = ["DEFAULT_MAX_BYTES", "SCHEMA_VERSION", "SqliteCache", "default_cache_path"]

T = TypeVar("T")

#: ``AEXY_CACHE_MAX_BYTES`` when unset: 256 MiB of stored keys and values.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: ``PRAGMA user_version`` of the files this module writes.
SCHEMA_VERSION = 1
#: Moved-aside files kept for inspection; older ones are deleted.
KEEP_ASIDE = 3
#: After an eviction, stored bytes are brought down to this share of the bound, so that the
#: next writes do not each evict again.
EVICT_TO = 0.9

# SQLite result codes: the file is damaged or is not a database; it cannot be opened; it is
# read-only. Anything else (BUSY, IOERR, FULL...) is an outage, never a reason to move the
# file aside.
_CORRUPT, _NOTADB, _CANTOPEN, _READONLY, _PERM = 11, 26, 14, 8, 3

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    size INTEGER NOT NULL,
    expires REAL NOT NULL,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_expires ON entries (expires);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
-- Running totals, kept by triggers so that any write path keeps them right and stats() and
-- the size bound never scan the table.
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    bytes INTEGER NOT NULL,
    entries INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals (id, bytes, entries) VALUES (0, 0, 0);
CREATE TRIGGER IF NOT EXISTS entries_insert AFTER INSERT ON entries BEGIN
    UPDATE totals SET bytes = bytes + new.size, entries = entries + 1 WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS entries_delete AFTER DELETE ON entries BEGIN
    UPDATE totals SET bytes = bytes - old.size, entries = entries - 1 WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS entries_update AFTER UPDATE OF size ON entries BEGIN
    UPDATE totals SET bytes = bytes + new.size - old.size WHERE id = 0;
END;
PRAGMA user_version = {SCHEMA_VERSION};
"""


def default_cache_path() -> Path:
    """``cache.sqlite3`` in the platform's user cache directory for aexy."""
    import platformdirs  # only when the default is needed

    return Path(platformdirs.user_cache_dir("aexy", appauthor=False)) / "cache.sqlite3"


class _Unusable(Exception):
    """The file cannot be used now; the message says why (never a secret: a path at most)."""


class SqliteCache:
    """The ``sqlite`` :class:`~aexy.cache.CacheBackend` (``AEXY_CACHE_BACKEND=sqlite``).

    :param path: the database file; its directory is created (mode 0700) when missing.
    :param max_bytes: bound of the stored keys and values (the file itself is somewhat larger:
        pages, indexes, the WAL).
    :param clock: wall-clock seconds; tests inject one to expire entries without waiting.
    :param busy_timeout: seconds a write waits for another process's write lock.
    :param touch_interval: a hit refreshes the entry's "last used" time (for LRU eviction) when
        it is older than this many seconds.
    """

    name = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 clock: Callable[[], float] = time.time, busy_timeout: float = 5.0,
                 touch_interval: float = 60.0) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.busy_timeout = busy_timeout
        self.touch_interval = touch_interval
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None  # of the file our connection has open
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._down = ""  # why the file is unusable, while it is (one warning per outage)
        self.hits = 0
        self.misses = 0
        self.sets = 0
        self.evictions = 0
        self.errors = 0
        self.recovered = 0

    @classmethod
    def from_settings(cls, settings: AexySettings) -> SqliteCache:
        """``AEXY_CACHE_PATH`` (default :func:`default_cache_path`) bounded by
        ``AEXY_CACHE_MAX_BYTES``. Nothing is opened before the first operation."""
        path = settings.cache_path or default_cache_path()
        return cls(Path(path).expanduser(), max_bytes=int(settings.cache_max_bytes))

    def __repr__(self) -> str:
        return f"SqliteCache({str(self.path)!r}, max_bytes={self.max_bytes})"

    # -- the worker thread -----------------------------------------------------------------------
    async def _run(self, op: Callable[[sqlite3.Connection], T], fallback: T, *,
                   write: bool = False, admin: bool = False) -> T:
        """``op(connection)`` on the worker thread. A damaged file is replaced and ``op`` tried
        once more; any other failure is ``fallback`` (or, for ``admin`` operations, a
        :class:`~aexy.cache.CacheBackendError`)."""
        if self._closed:
            return fallback
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aexy-sqlite")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._call, op, write)
        except _Unusable as exc:
            reason = str(exc)
        if admin:
            raise CacheBackendError(f"the sqlite cache at {self.path} is unavailable: {reason}; "
                                    "check the file or set AEXY_CACHE_PATH") from None
        return fallback

    def _call(self, op: Callable[[sqlite3.Connection], T], write: bool) -> T:
        """On the worker thread: open if need be, run ``op``; recover a damaged file once."""
        import sqlite3  # here, not on import: registering the backend stays cheap
        for attempt in (1, 2):
            try:
                result = run_op(self._open(), op, write)
            except (sqlite3.Error, OSError, _Unusable) as exc:
                if attempt == 1 and self._damaged(exc):
                    self._move_aside(exc)
                    continue
                self._fail(exc)
            else:
                if self._down:
                    self._down = ""
                    logger.info("sqlite cache at %s answers again", self.path)
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        # Cached results describe the user's code: readable by the user alone.
        db = open_private(self.path, self.busy_timeout)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _Unusable(f"{self.path} was written by a newer aexy (format {version}); "
                                "upgrade aexy or set AEXY_CACHE_PATH to another file")
            if version == 0:
                # Must precede the first table: lets clear() give the space back.
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        except BaseException:
            db.close()
            raise
        self._db = db
        self._inode = os.stat(self.path).st_ino
        return db

    def _close_db(self) -> None:
        db, self._db, self._inode = self._db, None, None
        if db is not None:
            import sqlite3

            with contextlib.suppress(sqlite3.Error):
                db.close()

    @staticmethod
    def _code(exc: BaseException) -> int | None:
        code = getattr(exc, "sqlite_errorcode", None)
        return None if code is None else int(code) & 0xFF  # the primary code

    def _damaged(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the file itself is bad (and it exists to be moved aside)."""
        code = self._code(exc)
        if code in (_CORRUPT, _NOTADB):
            return self.path.is_file()
        if code in (_CANTOPEN, _READONLY, _PERM) and self.path.is_file():
            # Unreadable or unwritable: only when the file really is, not when the process ran
            # out of file descriptors or another process holds it for a moment.
            return not os.access(self.path, os.R_OK | os.W_OK)
        return False

    def _move_aside(self, exc: BaseException) -> None:
        """Replace a damaged file: keep it beside as ``<name>.corrupt-<time>`` and start anew.
        When another process already did (the path is no longer the file we had open), only
        reopen."""
        ours = self._inode
        self._close_db()
        try:
            current = os.stat(self.path).st_ino
        except OSError:
            return  # gone already: the retry creates a new one
        if ours is not None and current != ours:
            return  # another process replaced it
        # Time first (the names sort by it), then enough to tell two recoveries apart.
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.replace(self.path, aside)
        except OSError as error:
            self._fail(error)
        for suffix in ("-wal", "-shm"):  # they belong to the old file
            with contextlib.suppress(OSError):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        self.recovered += 1
        logger.warning("sqlite cache file %s was unusable (%s); moved aside to %s and "
                       "started a new one", self.path, _describe(exc), aside.name)
        self._prune_aside()

    def _prune_aside(self) -> None:
        aside = sorted((p for p in self.path.parent.glob(f"{self.path.name}.corrupt-*")
                        if not p.name.endswith(("-wal", "-shm"))),
                       key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
        for old in aside[KEEP_ASIDE:]:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{old}{suffix}")

    def _fail(self, exc: BaseException) -> None:
        """Count, warn once per outage, forget the connection, and raise :class:`_Unusable`."""
        self.errors += 1
        reason = str(exc) if isinstance(exc, _Unusable) else _describe(exc)
        self._close_db()
        if self._down != reason:
            self._down = reason
            logger.warning("sqlite cache at %s is unavailable (%s); serving without it until "
                           "it answers", self.path, reason)
        raise _Unusable(reason) from None

    # -- the CacheBackend protocol -------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        now = self._clock()

        def op(db: sqlite3.Connection) -> bytes | None:
            row = db.execute("SELECT value, expires, used FROM entries WHERE key = ?",
                             (key,)).fetchone()
            if row is None or row[1] <= now:
                return None
            if now - row[2] > self.touch_interval:
                # Best effort: a hit never waits for another process's write lock (it would
                # outlast the cache timeout and turn the hit into a miss).
                import sqlite3

                db.execute("PRAGMA busy_timeout = 0")
                try:
                    with contextlib.suppress(sqlite3.OperationalError):
                        db.execute("UPDATE entries SET used = ? WHERE key = ?", (now, key))
                finally:
                    db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            value: bytes = row[0]
            return value

        raw = await self._run(op, None)
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        # Not valid UTF-8 means not ours: the core's re-validation turns it into a miss.
        return raw.decode("utf-8", errors="replace")

    async def set(self, key: str, value: str, ttl: float) -> None:
        if not ttl > 0:
            return
        data = value.encode("utf-8", errors="surrogatepass")
        size = len(data) + len(key.encode("utf-8", errors="surrogatepass"))
        if size > self.max_bytes:
            return  # could never fit: storing it would only evict everything else
        now = self._clock()

        def op(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO entries (key, value, size, expires, used) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                       "value = excluded.value, size = excluded.size, "
                       "expires = excluded.expires, used = excluded.used",
                       (key, data, size, now + ttl, now))
            db.execute("DELETE FROM entries WHERE expires <= ?", (now,))
            self._evict(db)

        await self._run(op, None, write=True)
        self.sets += 1

    def _evict(self, db: sqlite3.Connection) -> None:
        """Least recently used entries out until the stored bytes are back under the bound."""
        stored = db.execute("SELECT bytes FROM totals WHERE id = 0").fetchone()[0]
        if stored <= self.max_bytes:
            return
        # The oldest entries whose sizes add up to the excess, in one statement.
        excess = stored - int(self.max_bytes * EVICT_TO)
        self.evictions += db.execute(
            "DELETE FROM entries WHERE rowid IN (SELECT rowid FROM (SELECT rowid, size, "
            "sum(size) OVER (ORDER BY used, rowid) AS running FROM entries) "
            "WHERE running - size < ?)", (excess,)).rowcount

    async def delete(self, key: str) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount > 0

        return await self._run(op, False, write=True)

    async def clear(self, prefix: str = "aexy:") -> int:
        """Delete the live entries whose key starts with ``prefix`` (expired ones are swept
        too, uncounted) and give the freed pages back to the file system.

        :raises CacheBackendError: the file cannot be used.
        """
        now = self._clock()

        def op(db: sqlite3.Connection) -> int:
            db.execute("DELETE FROM entries WHERE expires <= ?", (now,))
            if not prefix:
                return int(db.execute("DELETE FROM entries").rowcount)
            # A key range rather than LIKE (which folds case and treats _ and % specially).
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            return int(db.execute("DELETE FROM entries WHERE key >= ? AND key < ?",
                                  (prefix, upper)).rowcount)

        deleted = await self._run(op, 0, write=True, admin=True)

        def shrink(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA incremental_vacuum")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._run(shrink, None)
        return deleted

    async def stats(self) -> dict[str, Any]:
        """The file, its size on disk (with its WAL), the live entries and the stored bytes
        against the bound, and this process's hits, misses, evictions, errors and recoveries."""
        now = self._clock()

        def op(db: sqlite3.Connection) -> tuple[int, int, int]:
            live = db.execute("SELECT count(*) FROM entries WHERE expires > ?",
                              (now,)).fetchone()[0]
            stored, rows = db.execute(
                "SELECT bytes, entries FROM totals WHERE id = 0").fetchone()
            return int(live), int(rows) - int(live), int(stored)

        figures = await self._run(op, None, admin=False)
        out: dict[str, Any] = {"backend": self.name, "path": str(self.path),
                               "file_bytes": self._file_bytes()}
        if figures is None:
            out["error"] = self._down or "unavailable"
        else:
            out.update(entries=figures[0], expired=figures[1], bytes=figures[2])
        out.update(max_bytes=self.max_bytes, hits=self.hits, misses=self.misses,
                   evictions=self.evictions, errors=self.errors, recovered=self.recovered)
        return out

    def _file_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    async def aclose(self) -> None:
        """Close the file and stop the worker thread; later operations are misses."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._close_db)
            executor.shutdown(wait=False)


def open_private(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection to the SQLite file ``path``, made readable by its owner alone when this
    creates it (in a directory of the owner's), in autocommit mode: reads take no lock, writes
    say ``BEGIN`` themselves (:func:`run_op`)."""
    import sqlite3  # here, not on import: registering the backend stays cheap

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = not path.exists()
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    if created:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    return db


def run_op(db: sqlite3.Connection, op: Callable[[sqlite3.Connection], T], write: bool) -> T:
    """``op(db)``; a write in one ``BEGIN IMMEDIATE`` transaction (rolled back if it fails),
    so that processes sharing the file never see half of it."""
    if not write:
        return op(db)
    db.execute("BEGIN IMMEDIATE")
    try:
        result = op(db)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return result


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
