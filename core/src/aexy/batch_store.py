"""``JobStore``: the batches a job sent to a provider's batch API, kept in a small sqlite file so
that a rerun after Ctrl-C, a crash or a reboot resumes them instead of paying for them again.

One row per batch (the job it belongs to, the provider, model and endpoint it went to, its id at
the API, whether its results were read) and one row per request in it (its ``custom_id`` and the
request key, the key of the cache entry its answer goes to). The file is
``AEXY_BATCH_STORE``, by default ``batches.sqlite3`` in the platform's user data directory
(``~/.local/share/aexy`` on Linux): not the cache directory, which users may wipe, since losing a
record means paying for its batch again.

Several processes share the file (WAL, and every change in one ``BEGIN IMMEDIATE``
transaction). A process *claims* the requests it is about to submit, in the transaction that
checks no other process has them in a batch: two runs of one job never both submit. A claim
becomes a batch when the API answers with its id. A claim whose process is gone (it died between
the claim and the answer) is dropped with a warning: the API may have made that batch, and it is
sent again. sqlite3 is in the standard library, and the operations are few (per batch, not per
request): each runs in a worker thread on a connection of its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from aexy.log import logger
from aexy.sqlite_cache import open_private, run_op

if TYPE_CHECKING:
    import sqlite3

    from aexy.settings import AexySettings

__all__ = ["SCHEMA_VERSION", "BatchRecord", "Claim", "Endpoint", "JobStore", "default_store_path"]

T = TypeVar("T")

#: ``PRAGMA user_version`` of the files this module writes.
SCHEMA_VERSION = 1
#: A claim of a process on another machine (a home directory on a network share) is taken as
#: abandoned after this long; on this machine, as soon as its process is gone.
STALE_CLAIM_SECONDS = 3600.0
#: Batches whose results were read are forgotten after this long.
KEEP_COLLECTED_SECONDS = 30 * 86400.0

State = Literal["submitting", "open", "collected", "lost"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    api_id TEXT,
    job TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_job ON batches (job, state);
CREATE TABLE IF NOT EXISTS requests (
    batch INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    custom_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (batch, custom_id)
);
CREATE INDEX IF NOT EXISTS requests_key ON requests (key);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def default_store_path() -> Path:
    """``batches.sqlite3`` in the platform's user data directory for aexy."""
    import platformdirs  # only when the default is needed

    return Path(platformdirs.user_data_dir("aexy", appauthor=False)) / "batches.sqlite3"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a batch went: a batch is only resumed through the same provider, model and API."""

    provider: str
    model: str
    url: str


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One recorded batch (or a claim, while ``api_id`` is ``None``) and its requests,
    ``custom_id`` -> request key."""

    id: int
    api_id: str | None
    job: str
    state: State
    owner: str
    created: float
    requests: Mapping[str, str]
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class Claim:
    """What :meth:`JobStore.claim` settled: ``record`` holds the requests this process may now
    submit (``None`` when another process had them all); ``elsewhere`` the batches (or other
    processes' claims) that already hold the rest."""

    record: BatchRecord | None
    elsewhere: list[BatchRecord]


class JobStore:
    """The job records of :mod:`aexy.batching` (see the module docs).

    :param path: the database file; its directory is created (mode 0700) when missing.
    :param clock: wall-clock seconds (tests inject one).
    :param owner: who this process is in claims (``host:pid``).
    :param alive: whether an owner on this host is still running (tests inject one).
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time,
                 owner: str | None = None,
                 alive: Callable[[int], bool] | None = None,
                 busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self._host = self.owner.rpartition(":")[0]
        self._alive = alive or _pid_alive
        self._busy_timeout = busy_timeout
        self._ready = False

    @classmethod
    def from_settings(cls, settings: AexySettings) -> JobStore:
        """``AEXY_BATCH_STORE``, else :func:`default_store_path`."""
        path = settings.batch_store or default_store_path()
        return cls(Path(path).expanduser())

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    # -- the file ------------------------------------------------------------------------------
    async def _run(self, op: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        return await asyncio.to_thread(self._call, op, write)

    def _call(self, op: Callable[[sqlite3.Connection], T], write: bool) -> T:
        # A connection per operation: they are few (per batch, not per request), and nothing
        # is left open for anyone to close.
        db = self._connect()
        try:
            return run_op(db, op, write)
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        # The records name what the user analyses: theirs alone.
        db = open_private(self.path, self._busy_timeout)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Once per process: the schema, and collected batches past their time forgotten."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            from aexy.errors import ConfigurationError

            raise ConfigurationError(
                f"{self.path} was written by a newer aexy (format {version}); upgrade aexy or "
                "set AEXY_BATCH_STORE to another file", env_var="AEXY_BATCH_STORE")
        db.execute("PRAGMA journal_mode = WAL")
        if version < SCHEMA_VERSION:
            db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        db.execute("DELETE FROM batches WHERE state IN ('collected', 'lost') AND updated < ?",
                   (self._clock() - KEEP_COLLECTED_SECONDS,))
        self._ready = True

    # -- claims --------------------------------------------------------------------------------
    async def claim(self, job: str, endpoint: Endpoint, requests: Mapping[str, str]
                    ) -> Claim:
        """Claim ``requests`` (``custom_id`` -> key) for a batch this process is about to
        submit, leaving out those whose key another batch through ``endpoint`` (or another
        process's claim) already holds: those are in :attr:`Claim.elsewhere`."""
        now = self._clock()

        def op(db: sqlite3.Connection) -> Claim:
            self._drop_stale(db, endpoint, now)
            held = self._holding(db, endpoint, requests.values())
            taken = {key for record in held for key in record.requests.values()}
            mine = {cid: key for cid, key in requests.items() if key not in taken}
            record = None
            if mine:
                row = db.execute(
                    "INSERT INTO batches (api_id, job, provider, model, endpoint, state, owner, "
                    "created, updated) VALUES (NULL, ?, ?, ?, ?, 'submitting', ?, ?, ?)",
                    (job, endpoint.provider, endpoint.model, endpoint.url, self.owner, now, now))
                batch = int(row.lastrowid or 0)
                db.executemany("INSERT INTO requests (batch, custom_id, key) VALUES (?, ?, ?)",
                               [(batch, cid, key) for cid, key in mine.items()])
                record = BatchRecord(batch, None, job, "submitting", self.owner, now, mine)
            return Claim(record, held)

        return await self._run(op, write=True)

    async def holding(self, endpoint: Endpoint, keys: Iterable[str], *,
                      read_only: bool = False) -> list[BatchRecord]:
        """The batches (and live claims) through ``endpoint`` whose results are not read yet
        and that hold any of ``keys``, each with just those of its requests; ``read_only``
        (a dry run): stale claims are left in place."""
        now = self._clock()
        wanted = list(keys)

        def op(db: sqlite3.Connection) -> list[BatchRecord]:
            if not read_only:
                self._drop_stale(db, endpoint, now)
            return self._holding(db, endpoint, wanted)

        return await self._run(op, write=not read_only)

    def _holding(self, db: sqlite3.Connection, endpoint: Endpoint, keys: Iterable[str]
                 ) -> list[BatchRecord]:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (key TEXT PRIMARY KEY)")
        db.execute("DELETE FROM wanted")
        db.executemany("INSERT OR IGNORE INTO wanted (key) VALUES (?)", ((k,) for k in keys))
        rows = db.execute(
            "SELECT b.id, b.api_id, b.job, b.state, b.owner, b.created, b.cancel_requested, "
            "r.custom_id, r.key FROM requests r JOIN wanted w ON w.key = r.key "
            "JOIN batches b ON b.id = r.batch WHERE b.state IN ('submitting', 'open') "
            "AND b.provider = ? AND b.model = ? AND b.endpoint = ? ORDER BY b.id",
            (endpoint.provider, endpoint.model, endpoint.url)).fetchall()
        db.execute("DELETE FROM wanted")
        return _records(rows)

    def _drop_stale(self, db: sqlite3.Connection, endpoint: Endpoint, now: float) -> None:
        """Forget the claims of processes that are gone: they never recorded an id, so their
        batch, if the API made it, cannot be read; its requests are sent again."""
        claims = db.execute(
            "SELECT id, owner, created, (SELECT count(*) FROM requests WHERE batch = id) "
            "FROM batches WHERE state = 'submitting' AND provider = ? AND model = ? "
            "AND endpoint = ?", (endpoint.provider, endpoint.model, endpoint.url)).fetchall()
        for batch, owner, created, count in claims:
            if owner == self.owner or not self._stale(owner, created, now):
                continue
            db.execute("DELETE FROM batches WHERE id = ?", (batch,))
            logger.warning(
                "a submission of %d requests to the %s batch API by %s was interrupted before "
                "its batch id was recorded; they are sent again (if that batch was made, its "
                "results cannot be read: check the provider's console)", count,
                endpoint.provider, owner)

    def _stale(self, owner: str, created: float, now: float) -> bool:
        host, _, pid = owner.rpartition(":")
        if host == self._host and pid.isdigit():
            return not self._alive(int(pid))
        return now - created > STALE_CLAIM_SECONDS

    # -- a batch's life ------------------------------------------------------------------------
    async def submitted(self, record: BatchRecord, api_id: str) -> BatchRecord:
        """The API made the claimed batch: record its id before anything else happens."""
        now = self._clock()

        def op(db: sqlite3.Connection) -> None:
            db.execute("UPDATE batches SET api_id = ?, state = 'open', updated = ? WHERE id = ?",
                       (api_id, now, record.id))

        await self._run(op, write=True)
        return BatchRecord(record.id, api_id, record.job, "open", record.owner, record.created,
                           record.requests)

    async def abandon(self, record: BatchRecord) -> None:
        """The API refused the claimed batch: nothing was made, nothing is kept."""
        await self._set(record, None)

    async def collected(self, record: BatchRecord) -> None:
        """Every result of the batch was read (and stored, or reported as a failure)."""
        await self._set(record, "collected")

    async def lost(self, record: BatchRecord) -> None:
        """The API no longer knows the batch, or its results cannot be read."""
        await self._set(record, "lost")

    async def cancel_requested(self, record: BatchRecord) -> None:
        now = self._clock()

        def op(db: sqlite3.Connection) -> None:
            db.execute("UPDATE batches SET cancel_requested = 1, updated = ? WHERE id = ?",
                       (now, record.id))

        await self._run(op, write=True)

    async def _set(self, record: BatchRecord, state: State | None) -> None:
        now = self._clock()

        def op(db: sqlite3.Connection) -> None:
            if state is None:
                db.execute("DELETE FROM batches WHERE id = ?", (record.id,))
            else:
                db.execute("UPDATE batches SET state = ?, updated = ? WHERE id = ?",
                           (state, now, record.id))

        await self._run(op, write=True)

    async def refresh(self, ids: Iterable[int]) -> dict[int, BatchRecord]:
        """The records of ``ids`` as they are now (another process's claim may have become a
        batch, or been given up: then it is missing)."""
        wanted = list(ids)

        def op(db: sqlite3.Connection) -> dict[int, BatchRecord]:
            marks = ",".join("?" * len(wanted))
            rows = db.execute(
                "SELECT b.id, b.api_id, b.job, b.state, b.owner, b.created, b.cancel_requested, "
                f"r.custom_id, r.key FROM batches b JOIN requests r ON r.batch = b.id "
                f"WHERE b.id IN ({marks}) ORDER BY b.id", wanted).fetchall()
            return {r.id: r for r in _records(rows)}

        return await self._run(op) if wanted else {}

    async def job_batches(self, job: str, endpoint: Endpoint) -> list[BatchRecord]:
        """The batches of ``job`` through ``endpoint`` whose results are not read yet."""
        def op(db: sqlite3.Connection) -> list[BatchRecord]:
            rows = db.execute(
                "SELECT b.id, b.api_id, b.job, b.state, b.owner, b.created, b.cancel_requested, "
                "r.custom_id, r.key FROM batches b JOIN requests r ON r.batch = b.id "
                "WHERE b.job = ? AND b.state IN ('submitting', 'open') AND b.provider = ? "
                "AND b.model = ? AND b.endpoint = ? ORDER BY b.id",
                (job, endpoint.provider, endpoint.model, endpoint.url)).fetchall()
            return _records(rows)

        return await self._run(op)


def _records(rows: Iterable[tuple[object, ...]]) -> list[BatchRecord]:
    """Rows of (batch columns..., custom_id, key), ordered by batch, as records."""
    found: dict[int, tuple[tuple[object, ...], dict[str, str]]] = {}
    for row in rows:
        batch = int(str(row[0]))
        entry = found.setdefault(batch, (row, {}))
        entry[1][str(row[7])] = str(row[8])
    out = []
    for batch, (row, requests) in found.items():
        out.append(BatchRecord(batch, None if row[1] is None else str(row[1]), str(row[2]),
                               str(row[3]),  # type: ignore[arg-type]
                               str(row[4]), float(str(row[5])), requests, bool(row[6])))
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
