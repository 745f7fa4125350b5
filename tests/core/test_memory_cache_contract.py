"""The built-in memory backend against the cache backend contract."""

from __future__ import annotations

from aexy.cache import MemoryCache
from aexy.testing import CacheBackendContract


class TestMemoryCacheContract(CacheBackendContract):
    backend_name = "memory"

    def make_backend(self) -> MemoryCache:
        self.now = 1000.0
        return MemoryCache(100, timer=lambda: self.now)

    def advance_time(self, backend: object, seconds: float) -> bool:
        self.now += seconds
        return True
