"""``CacheBackendContract``: the conformance suite of a cache backend.

A backend's tests subclass it and say how to build a fresh, empty backend; every ``test_*``
method then runs against it::

    from aexy.testing import CacheBackendContract

    class TestSqliteContract(CacheBackendContract):
        backend_name = "sqlite"              # checks an installed plugin registers it

        def make_backend(self):
            return SqliteCache(self.tmp / "cache.db", clock=self.clock)

        def advance_time(self, backend, seconds):
            self.now += seconds              # the backend reads time through self.clock

What it checks: the members of :class:`aexy.cache.CacheBackend`; get, set and overwrite;
values of any text round-trip unchanged; TTLs (expiry through an injected clock, or the TTL
the store reports); ``ttl <= 0`` stores nothing; clear by prefix with exact counts, leaving
foreign keys alone; stats; concurrent use; closing twice; and, for a backend built against an
unreachable store, that a read is a miss, a write is dropped, and no secret leaks. Test methods
are plain functions that run their own event loop. pytest is imported only to skip a check.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from aexy.contract.cache import CacheBackend
from aexy.testing.wire import find_secret, skip

__all__ = ["VALUES", "CacheBackendContract"]

T = TypeVar("T")

#: Values a backend must give back byte for byte: JSON as the gateway writes it, non-ASCII
#: text, control characters and quotes, the empty string and a 256 KiB value.
VALUES: dict[str, str] = {
    "json": json.dumps({"result": {"score": 7, "issues": []}, "provider": "p", "model": "m"}),
    "unicode": "naïve café — 日本語のテキスト 🙂 ℵ₀",
    "control": 'line one\nline two\r\n\ttab "quoted" \\backslash\\ \x00nul',
    "empty": "",
    "large": "x" * (256 * 1024),
}


class CacheBackendContract:
    """Base class of a cache backend's conformance tests; see the module docstring.

    Implement :meth:`make_backend`, and :meth:`advance_time` or :meth:`remaining_ttl` (TTL
    checks need one). Implement :meth:`make_unreachable_backend` for the outage checks.
    """

    #: The name an installed plugin registers the backend under (``None``: not checked).
    backend_name: ClassVar[str | None] = None
    #: Planted by :meth:`make_unreachable_backend` in the store's credentials (a password in
    #: its URL), then looked for in everything the backend returns or raises.
    secret: ClassVar[str] = "aexy-contract-cache-5e8d2a-SECRET"

    # -- what a plugin implements --------------------------------------------------------------
    def make_backend(self) -> CacheBackend | Awaitable[CacheBackend]:
        """A fresh, empty backend (may be ``async def``)."""
        raise NotImplementedError("implement make_backend() in your CacheBackendContract")

    def make_unreachable_backend(self) -> CacheBackend | Awaitable[CacheBackend] | None:
        """A backend whose store is down (a closed port, a missing directory...), configured
        with :attr:`secret` as its password; ``None`` when the backend has no store to lose."""
        return None

    def advance_time(self, backend: CacheBackend, seconds: float) -> bool:
        """Move the backend's clock forward; return ``False`` if it cannot be moved."""
        return False

    async def remaining_ttl(self, backend: CacheBackend, key: str) -> float | None:
        """Seconds ``key`` has left according to the store, for stores with their own clock
        (Redis ``PTTL``); ``None`` when not implemented."""
        return None

    # -- helpers -------------------------------------------------------------------------------
    def run(self, body: Callable[[CacheBackend], Awaitable[T]], *,
            unreachable: bool = False) -> T:
        made = self.make_unreachable_backend() if unreachable else self.make_backend()
        if made is None:
            skip(f"{type(self).__name__} has no unreachable store to test "
                 "(make_unreachable_backend returns None)")

        async def main() -> T:
            backend: CacheBackend = await made if inspect.isawaitable(made) else made
            try:
                return await body(backend)
            finally:
                await backend.aclose()

        return asyncio.run(main())

    # -- members, registration -----------------------------------------------------------------
    def test_it_has_every_member_of_the_protocol(self) -> None:
        from aexy.plugin_checks import cache_backend_problems

        async def body(backend: CacheBackend) -> list[str]:
            return cache_backend_problems(backend)

        assert self.run(body) == []

    def test_an_installed_plugin_registers_it_soundly(self) -> None:
        if self.backend_name is None:
            skip("backend_name is not set")
        from aexy.plugins import PluginHost

        host = PluginHost(environ={})
        registry = host.cache_backends()
        problems = [str(e) for e in host.hook_errors if e.record == self.backend_name]
        assert not problems, f"the plugin host rejected it: {problems}"
        assert self.backend_name in registry.items, (
            f"no installed plugin registers the cache backend {self.backend_name!r}; check "
            "[project.entry-points.aexy] in its pyproject.toml")

    # -- reads and writes ----------------------------------------------------------------------
    def test_a_missing_key_is_a_miss(self) -> None:
        async def body(backend: CacheBackend) -> str | None:
            return await backend.get("aexy:contract:absent")

        assert self.run(body) is None

    def test_values_round_trip_unchanged(self) -> None:
        async def body(backend: CacheBackend) -> dict[str, str | None]:
            for label, value in VALUES.items():
                await backend.set(f"aexy:contract:{label}", value, 60)
            return {label: await backend.get(f"aexy:contract:{label}") for label in VALUES}

        got = self.run(body)
        wrong = [label for label, value in VALUES.items() if got[label] != value]
        assert not wrong, f"values changed on the way: {wrong}"

    def test_a_set_overwrites(self) -> None:
        async def body(backend: CacheBackend) -> str | None:
            await backend.set("aexy:contract:k", "first", 60)
            await backend.set("aexy:contract:k", "second", 60)
            return await backend.get("aexy:contract:k")

        assert self.run(body) == "second"

    def test_delete_removes_one_key(self) -> None:
        async def body(backend: CacheBackend) -> tuple[str | None, str | None]:
            await backend.set("aexy:contract:gone", "v", 60)
            await backend.set("aexy:contract:kept", "v", 60)
            await backend.delete("aexy:contract:gone")
            await backend.delete("aexy:contract:never-stored")  # not an error
            return (await backend.get("aexy:contract:gone"),
                    await backend.get("aexy:contract:kept"))

        assert self.run(body) == (None, "v")

    def test_a_ttl_of_zero_or_less_stores_nothing(self) -> None:
        async def body(backend: CacheBackend) -> tuple[str | None, str | None]:
            await backend.set("aexy:contract:zero", "v", 0)
            await backend.set("aexy:contract:negative", "v", -5)
            return (await backend.get("aexy:contract:zero"),
                    await backend.get("aexy:contract:negative"))

        assert self.run(body) == (None, None)

    def test_a_fractional_ttl_is_accepted(self) -> None:
        async def body(backend: CacheBackend) -> str | None:
            await backend.set("aexy:contract:frac", "v", 1.5)
            return await backend.get("aexy:contract:frac")

        assert self.run(body) == "v"

    def test_entries_expire_after_their_ttl(self) -> None:
        async def body(backend: CacheBackend) -> tuple[Any, ...]:
            await backend.set("aexy:contract:ttl", "v", 5)
            await backend.set("aexy:contract:long", "v", 500)
            if self.advance_time(backend, 4):
                before = await backend.get("aexy:contract:ttl")
                self.advance_time(backend, 2)
                after = await backend.get("aexy:contract:ttl")
                return "clock", before, after, await backend.get("aexy:contract:long")
            remaining = await self.remaining_ttl(backend, "aexy:contract:ttl")
            return "store", remaining

        outcome = self.run(body)
        if outcome[0] == "clock":
            assert outcome[1:] == ("v", None, "v"), (
                "before expiry, after expiry, a longer TTL: " + repr(outcome[1:]))
        else:
            remaining = outcome[1]
            assert remaining is not None, (
                "implement advance_time() or remaining_ttl() so that TTLs can be checked")
            assert 0 < remaining <= 5, f"the store keeps the entry for {remaining}s, not 5s"

    def test_clear_deletes_by_prefix_and_counts(self) -> None:
        async def body(backend: CacheBackend) -> tuple[Any, ...]:
            for key in ("aexy:code_quality:1", "aexy:code_quality:2", "aexy:team_health:1",
                        "other-app:1"):
                await backend.set(key, "v", 60)
            one_type = await backend.clear("aexy:code_quality:")
            kept = await backend.get("aexy:team_health:1")
            rest = await backend.clear()
            return (one_type, kept, rest, await backend.get("aexy:team_health:1"),
                    await backend.get("other-app:1"), await backend.clear())

        one_type, kept, rest, gone, foreign, again = self.run(body)
        assert (one_type, kept) == (2, "v"), "clear(prefix) deletes exactly that prefix"
        assert (rest, gone) == (1, None), "clear() deletes every aexy: key"
        assert foreign == "v", "clear() must leave keys outside aexy: alone (a shared store)"
        assert again == 0

    def test_stats_name_the_backend_and_are_json(self) -> None:
        async def body(backend: CacheBackend) -> tuple[str, dict[str, Any]]:
            await backend.set("aexy:contract:s", "v", 60)
            await backend.get("aexy:contract:s")
            return backend.name, await backend.stats()

        name, stats = self.run(body)
        assert isinstance(stats, dict), stats
        assert stats.get("backend") == name, stats
        json.dumps(stats)  # aexy cache stats --json prints it

    def test_concurrent_use_loses_nothing(self) -> None:
        async def body(backend: CacheBackend) -> list[str | None]:
            keys = [f"aexy:contract:c{i}" for i in range(50)]
            await asyncio.gather(*(backend.set(k, k[::-1], 60) for k in keys))
            return list(await asyncio.gather(*(backend.get(k) for k in keys)))

        got = self.run(body)
        assert got == [f"aexy:contract:c{i}"[::-1] for i in range(50)]

    def test_closing_twice_is_harmless(self) -> None:
        async def body(backend: CacheBackend) -> None:
            await backend.set("aexy:contract:x", "v", 60)
            await backend.aclose()
            await backend.aclose()

        self.run(body)  # and run() closes it a third time

    # -- outage --------------------------------------------------------------------------------
    def test_an_unreachable_store_is_a_miss_and_a_dropped_write(self) -> None:
        async def body(backend: CacheBackend) -> str | None:
            try:
                await backend.set("aexy:contract:down", "v", 60)
                return await backend.get("aexy:contract:down")
            except Exception as exc:
                raise AssertionError(
                    f"{exc!r} while the store is down: a read must be a miss and a write "
                    "dropped (a cache never fails an analysis)") from None

        assert self.run(body, unreachable=True) is None

    def test_an_unreachable_store_leaks_no_secret(self) -> None:
        async def body(backend: CacheBackend) -> list[str]:
            leaks = []
            for name, call in (("stats()", backend.stats), ("clear()", backend.clear)):
                try:
                    outcome: object = await call()
                except Exception as exc:  # allowed to fail, never to leak
                    outcome = exc
                where = find_secret(outcome, self.secret)
                if where:
                    leaks.append(f"{name}: {where}")
            if find_secret(repr(backend), self.secret):
                leaks.append("repr(backend)")
            return leaks

        leaks = self.run(body, unreachable=True)
        assert not leaks, f"the store's secret leaks through {'; '.join(leaks)}"
