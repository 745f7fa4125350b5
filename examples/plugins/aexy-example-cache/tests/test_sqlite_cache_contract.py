"""The example-sqlite backend against aexy's cache backend contract."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aexy.testing import CacheBackendContract
from aexy_example_cache import SqliteCache


class TestSqliteCacheContract(CacheBackendContract):
    backend_name = "example-sqlite"

    def make_backend(self) -> SqliteCache:
        self.now = 1_750_000_000.0
        folder = Path(tempfile.mkdtemp(prefix="aexy-sqlite-contract-"))
        return SqliteCache(folder / "cache.db", clock=lambda: self.now)

    def advance_time(self, backend: object, seconds: float) -> bool:
        self.now += seconds
        return True

    def make_unreachable_backend(self) -> SqliteCache:
        # A directory that does not exist: the file can never be opened. (SQLite has no
        # credentials, so there is no secret to plant.)
        return SqliteCache(Path(tempfile.mkdtemp()) / "missing" / "cache.db")
