"""The two-tier cache (memory in front of a shared backend), the envelope, the key, and which
backend is selected. The shared backend here is an in-process stand-in with the protocol's
shape; the real Redis backend runs the same paths in tests/plugins/redis/."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from aexy import ConfigurationError, LLMGateway, hookimpl
from aexy.assembly import select_backend
from aexy.cache import (
    CacheBackendError,
    CacheBackendSpec,
    MemoryCache,
    TieredCache,
    cache_key,
)
from aexy.plugins import PluginHost
from aexy.resilience.clock import VirtualClock
from aexy.schema import example_from_schema
from aexy.settings import AexySettings
from aexy.telemetry import Recorder
from aexy.testing import FakeProvider

CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"


class SharedStore:
    """A shared backend: a dict with TTLs read from a clock; ``down`` makes every call fail,
    ``hang`` makes every call wait forever (a stalled server)."""

    name = "shared"

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.data: dict[str, tuple[str, float]] = {}
        self.down = False
        self.hang = False
        self.calls: list[str] = []

    async def _op(self, name: str) -> None:
        self.calls.append(name)
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise ConnectionError("connection refused")

    async def get(self, key: str) -> str | None:
        await self._op("get")
        value, until = self.data.get(key, (None, 0.0))
        return value if value is not None and self.clock() < until else None

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._op("set")
        self.data[key] = (value, self.clock() + ttl)

    async def delete(self, key: str) -> None:
        await self._op("delete")
        self.data.pop(key, None)

    async def clear(self, prefix: str = "aexy:") -> int:
        await self._op("clear")
        doomed = [k for k in self.data if k.startswith(prefix)]
        for k in doomed:
            del self.data[k]
        return len(doomed)

    async def stats(self) -> dict[str, Any]:
        await self._op("stats")
        return {"backend": self.name, "entries": len(self.data)}

    async def aclose(self) -> None:
        self.calls.append("aclose")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1000.0)


@pytest.fixture
def store(clock: VirtualClock) -> SharedStore:
    return SharedStore(clock)


def gateway(host: PluginHost, store: SharedStore, clock: VirtualClock,
            provider: FakeProvider | None = None, **settings: Any) -> LLMGateway:
    cache = TieredCache(store, recorder=Recorder(), timer=clock,
                        memory_max_age=settings.pop("memory_max_age", 300.0))
    gw = LLMGateway(provider=provider or FakeProvider(), plugins=host, fallbacks=(),
                    settings=AexySettings(**settings), clock=clock)
    gw._cache = cache  # the tiers under test, on the test's clock
    gw._cache._recorder = gw._recorder
    return gw


async def test_a_shared_hit_fills_the_memory_tier(host: PluginHost, store: SharedStore,
                                                  clock: VirtualClock) -> None:
    async with gateway(host, store, clock) as first:
        await first.analyze("skill_extraction", CODE)
    async with gateway(host, store, clock) as second:  # another process: empty memory tier
        hit = await second.analyze("skill_extraction", CODE)
        assert (hit.provenance.cache_hit, hit.provenance.cache_tier) == (True, "shared")
        again = await second.analyze("skill_extraction", CODE)
        assert again.provenance.cache_tier == "memory"
    assert store.calls.count("get") == 2  # the third read never left the process


async def test_the_memory_tier_keeps_an_entry_at_most_its_max_age(
        host: PluginHost, store: SharedStore, clock: VirtualClock) -> None:
    async with gateway(host, store, clock, memory_max_age=300) as gw:
        await gw.analyze("skill_extraction", CODE)  # TTL a week; memory keeps it 300 s
        key = next(iter(store.data))
        assert store.data[key][1] == pytest.approx(clock() + 7 * 24 * 3600)
        clock.advance(299)
        assert (await gw.analyze("skill_extraction", CODE)).provenance.cache_tier == "memory"
        store.data.clear()  # cleared in the shared tier by another process
        clock.advance(2)  # past the memory tier's bound: the clear is seen
        assert not (await gw.analyze("skill_extraction", CODE)).provenance.cache_hit


async def test_a_corrupt_or_stale_shared_value_is_a_miss_and_is_deleted(
        host: PluginHost, store: SharedStore, clock: VirtualClock) -> None:
    async with gateway(host, store, clock) as gw:
        await gw.analyze("skill_extraction", CODE)
    key = next(iter(store.data))
    value, until = store.data[key]
    header, _, body = value.partition("\n")
    stale = json.dumps({**json.loads(header), "schema": "0" * 16}) + "\n" + body
    for bad in ("not json{", stale, header + "\n" + '{"language": 5}'):
        store.data[key] = (bad, until)
        provider = FakeProvider()
        async with gateway(host, store, clock, provider) as gw:
            result = await gw.analyze("skill_extraction", CODE)
        assert not result.provenance.cache_hit and len(provider.calls) == 1
        assert "delete" in store.calls
        assert store.data[key][0] != bad  # deleted, then the fresh answer stored
        store.calls.clear()


async def test_a_backend_outage_never_fails_an_analysis(
        host: PluginHost, store: SharedStore, clock: VirtualClock,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO, logger="aexy")
    monkeypatch.setattr("aexy.resilience.incident.QUIET", 0.0)  # back at the first answer
    store.down = True
    provider = FakeProvider()
    gw = gateway(host, store, clock, provider)
    for i in range(5):
        result = await gw.analyze("skill_extraction", f"x = {i}")
        assert not result.provenance.cache_hit
    outage = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage) == 1  # one warning per outage, not one per call
    assert gw.stats()["cache"]["errors"] == {"shared:get": 5, "shared:set": 5}
    store.down = False
    await gw.analyze("skill_extraction", "x = 9")
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert len(store.data) == 1  # caching resumed
    await gw.aclose()


async def test_a_stalled_backend_costs_at_most_its_timeout(host: PluginHost,
                                                           store: SharedStore) -> None:
    # Real time: the timeout must cut a call that would wait forever (the first operation
    # after COLD_START seconds, the next ones after AEXY_CACHE_TIMEOUT).
    store.hang = True
    async with LLMGateway(provider=FakeProvider(), plugins=host, fallbacks=(), cache=store,
                          settings=AexySettings(cache_timeout=0.05)) as gw:
        result = await asyncio.wait_for(gw.analyze("skill_extraction", CODE), timeout=5)
        again = await asyncio.wait_for(gw.analyze("skill_extraction", CODE + "#"), timeout=1)
    assert not result.provenance.cache_hit and not again.provenance.cache_hit
    assert store.calls[:4] == ["get", "set", "get", "set"]


async def test_the_first_operation_may_open_the_backend_whatever_the_timeout(
        tmp_path: Path) -> None:
    """Opening the sqlite file is no slow read: a run's first lookup is not cut by a timeout
    that bounds reads (on a loaded machine they all were, and were paid again)."""
    from aexy.sqlite_cache import SqliteCache

    spec = PluginHost(entry_points=False).analysis_types().items["skill_extraction"]
    path = tmp_path / "c.sqlite3"
    writer = TieredCache(SqliteCache(path), recorder=Recorder())
    stored = spec.result_model.model_validate(example_from_schema(spec.json_schema))
    await writer.set("aexy:skill_extraction:k", spec, stored, "p", "m", 60)
    await writer.aclose()
    # No operation can finish within a nanosecond: only the cold start's bound lets one.
    reader = TieredCache(SqliteCache(path), recorder=Recorder(), timeout=1e-9)
    hit = await reader.get("aexy:skill_extraction:k", spec, 60)
    await reader.memory.clear()
    later = await reader.get("aexy:skill_extraction:k", spec, 60)
    await reader.aclose()
    assert hit is not None and hit.tier == "sqlite"
    assert later is None  # warm: the read timeout applies


async def test_clear_goes_to_the_shared_tier_and_fails_loudly_when_it_is_down(
        host: PluginHost, store: SharedStore, clock: VirtualClock) -> None:
    async with gateway(host, store, clock) as gw:
        await gw.analyze("skill_extraction", CODE)
        await gw.analyze("code_quality", CODE)
        assert await gw.clear_cache("skill_extraction") == 1
        assert len(store.data) == 1
        store.down = True
        with pytest.raises(CacheBackendError, match="failed to clear aexy:"):
            await gw.clear_cache()
        stats = await gw.cache_stats()
    assert stats[0]["backend"] == "memory"
    assert stats[1] == {"backend": "shared", "error": "unavailable"}


async def test_cache_errors_reach_opentelemetry(host: PluginHost, store: SharedStore) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from aexy.telemetry import Telemetry

    reader = InMemoryMetricReader()
    recorder = Recorder(Telemetry(meter_provider=MeterProvider(metric_readers=[reader])))
    store.down = True
    cache = TieredCache(store, recorder=recorder)
    assert await cache.get("aexy:t:k", LLMGateway(provider=FakeProvider(), plugins=host)
                           .spec_for("skill_extraction"), 60) is None
    data = reader.get_metrics_data()
    assert data is not None
    points = [p for rm in data.resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics if m.name == "aexy.cache.errors" for p in m.data.data_points]
    assert [(p.attributes["operation"], p.value) for p in points] == [("get", 1)]


def test_post_processors_are_part_of_the_key() -> None:
    base = dict(analysis_type="skill_extraction", spec_version="1", prompt_version="p",
                schema_hash="s", provider="fake", model="m", content=CODE, context_json="{}")
    plain = cache_key(**base)  # type: ignore[arg-type]
    normalized = cache_key(**base, postprocessors=("normalize_skills",))  # type: ignore[arg-type]
    assert plain != normalized
    # Length-prefixed fields: moving text between two fields changes the key.
    assert cache_key(**{**base, "provider": "ab", "model": "c"}) != cache_key(  # type: ignore[arg-type]
        **{**base, "provider": "a", "model": "bc"})


async def test_a_reader_with_other_post_processors_misses(host: PluginHost) -> None:
    shared = MemoryCache(100)
    provider = FakeProvider()
    async with LLMGateway(provider=provider, plugins=host, cache=shared) as plain:
        await plain.analyze("skill_extraction", CODE)
    async with LLMGateway(provider=provider, plugins=host, cache=shared,
                          settings=AexySettings(postprocessors=["normalize_skills"])) as norm:
        assert not (await norm.analyze("skill_extraction", CODE)).provenance.cache_hit
        assert (await norm.analyze("skill_extraction", CODE)).provenance.cache_hit
    assert len(provider.calls) == 2


# -- which backend -----------------------------------------------------------------------------
class _Backends:
    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def register_cache_backends(self) -> list[CacheBackendSpec]:
        return [CacheBackendSpec(n, lambda settings: MemoryCache(5), f"{n} backend")
                for n in self.names]


def _host_with(*names: str, distribution: str = "aexy-shared") -> PluginHost:
    h = PluginHost(entry_points=False)
    h.register(_Backends(*names), name="backends", distribution=distribution, version="1")
    return h


def test_the_embedded_default_when_no_plugin_backend_is_installed() -> None:
    choice = select_backend(AexySettings(cache_backend=None), PluginHost(entry_points=False))
    assert choice.spec.name == "sqlite"
    assert choice.reason == "the embedded default; no plugin backend is installed"
    assert choice.owner == "aexy-core"


def test_installing_a_backend_swaps_the_cache() -> None:
    choice = select_backend(AexySettings(cache_backend=None), _host_with("redis"))
    assert choice.spec.name == "redis" and choice.owner == "aexy-shared"
    assert "the only backend an installed plugin provides" in choice.reason
    assert "aexy-shared" in choice.reason


def test_memory_can_be_forced_and_a_choice_is_named() -> None:
    choice = select_backend(AexySettings(cache_backend="memory"), _host_with("redis"))
    assert choice.spec.name == "memory" and choice.reason == "AEXY_CACHE_BACKEND=memory"


def test_several_backends_need_a_choice_naming_them() -> None:
    with pytest.raises(ConfigurationError) as info:
        select_backend(AexySettings(cache_backend=None), _host_with("redis", "memcached"))
    assert "memcached (aexy-shared), redis (aexy-shared)" in str(info.value)
    assert info.value.env_var == "AEXY_CACHE_BACKEND"
    choice = select_backend(AexySettings(cache_backend="memcached"),
                            _host_with("redis", "memcached"))
    assert choice.spec.name == "memcached"


def test_an_unknown_backend_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown cache backend 'nope'"):
        select_backend(AexySettings(cache_backend="nope"), PluginHost(entry_points=False))


# -- the memory tier itself ----------------------------------------------------------------------
async def test_the_memory_tier_drops_the_least_recently_used_entry() -> None:
    cache = MemoryCache(2)
    await cache.set("aexy:t:a", "A", 60)
    await cache.set("aexy:t:b", "B", 60)
    assert await cache.get("aexy:t:a") == "A"  # a read makes "a" the most recent
    await cache.set("aexy:t:c", "C", 60)
    assert [await cache.get(k) for k in ("aexy:t:a", "aexy:t:b", "aexy:t:c")] == ["A", None, "C"]


async def test_expired_entries_are_misses_and_are_not_counted() -> None:
    clock = VirtualClock()
    cache = MemoryCache(10, timer=clock)
    await cache.set("aexy:t:short", "S", 5)
    await cache.set("aexy:t:long", "L", 50)
    clock.advance(5)  # an entry is gone at its expiry, not after it
    assert await cache.get("aexy:t:short") is None
    assert await cache.get("aexy:t:long") == "L"
    await cache.set("aexy:t:other", "O", 1)
    clock.advance(1)
    stats = await cache.stats()
    assert (stats["entries"], stats["hits"], stats["misses"]) == (1, 1, 1)
    assert await cache.clear("aexy:t:") == 1  # only the live entry is counted


def test_the_memory_tier_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryCache(0)


def test_a_long_envelope_header_is_parsed_but_not_remembered() -> None:
    from aexy.cache import _known_header, decode_entry

    spec = PluginHost(entry_points=False).analysis_types().get("code_quality")
    assert spec is not None
    before = _known_header.cache_info().currsize
    with pytest.raises(ValueError, match="stale, foreign or corrupt"):
        decode_entry('{"v": 2, "pad": "' + "x" * 5000 + '"}\n{}', spec)
    assert _known_header.cache_info().currsize == before
