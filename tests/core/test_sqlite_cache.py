"""The built-in ``sqlite`` cache backend: the conformance suite, the size bound, two processes
sharing one file, a process killed in the middle of writing, and damaged files."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aexy.assembly import build_cache_backend, select_backend
from aexy.cache import CacheBackendError, TieredCache
from aexy.plugins import PluginHost
from aexy.settings import AexySettings
from aexy.sqlite_cache import SqliteCache, default_cache_path
from aexy.telemetry import Recorder
from aexy.testing import CacheBackendContract

T0 = 1_750_000_000.0


class TestSqliteCacheContract(CacheBackendContract):
    backend_name = "sqlite"

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_backend(self) -> SqliteCache:
        self.now = T0
        return SqliteCache(self.folder / "cache.sqlite3", clock=lambda: self.now)

    def advance_time(self, backend: object, seconds: float) -> bool:
        self.now += seconds
        return True

    def make_unreachable_backend(self) -> SqliteCache:
        # Its directory would have to be made inside a regular file: it can never be opened.
        # (SQLite has no credentials, so there is no secret to plant.)
        blocker = self.folder / "a-file"
        blocker.write_text("not a directory")
        return SqliteCache(blocker / "cache.sqlite3")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "cache.sqlite3"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def rows(path: Path) -> dict[str, bytes]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT key, value FROM entries").fetchall())
    finally:
        db.close()


# -- behaviour of one backend ------------------------------------------------------------------
async def test_entries_outlive_the_backend_that_wrote_them(path: Path, clock: Clock) -> None:
    first = SqliteCache(path, clock=clock)
    await first.set("aexy:t:1", "kept", 60)
    await first.aclose()
    second = SqliteCache(path, clock=clock)
    try:
        assert await second.get("aexy:t:1") == "kept"
        clock.now += 61
        assert await second.get("aexy:t:1") is None
    finally:
        await second.aclose()


async def test_the_file_and_its_folder_are_private(path: Path) -> None:
    cache = SqliteCache(path)
    await cache.set("aexy:t:1", "v", 60)
    await cache.aclose()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


async def test_least_recently_used_entries_go_first_past_the_size_bound(
        path: Path, clock: Clock) -> None:
    value = "x" * 1000  # ~1 KB each with its key: the bound holds ten
    cache = SqliteCache(path, max_bytes=10_500, clock=clock, touch_interval=0)
    try:
        for i in range(10):
            clock.now += 1
            await cache.set(f"aexy:t:{i}", value, 3600)
        clock.now += 1
        assert await cache.get("aexy:t:0") == value  # 0 is now the most recently used
        clock.now += 1
        await cache.set("aexy:t:10", value, 3600)  # over the bound: evict down to 90 %
        kept = {i for i in range(11) if await cache.get(f"aexy:t:{i}") is not None}
        stats = await cache.stats()
    finally:
        await cache.aclose()
    assert kept == {0, *range(3, 11)}, kept  # 1 and 2 were the least recently used
    assert stats["evictions"] == 2
    assert stats["bytes"] <= 10_500 * 0.9
    assert stats["entries"] == 9


async def test_a_value_larger_than_the_bound_is_not_stored(path: Path) -> None:
    cache = SqliteCache(path, max_bytes=1000)
    try:
        await cache.set("aexy:t:small", "v", 60)
        await cache.set("aexy:t:huge", "x" * 2000, 60)
        assert await cache.get("aexy:t:huge") is None
        assert await cache.get("aexy:t:small") == "v"  # nothing was evicted for it
    finally:
        await cache.aclose()


async def test_expired_entries_are_swept_on_write_and_not_counted(
        path: Path, clock: Clock) -> None:
    cache = SqliteCache(path, clock=clock)
    try:
        await cache.set("aexy:t:short", "v", 5)
        await cache.set("aexy:t:long", "v", 500)
        clock.now += 10
        assert (await cache.stats())["entries"] == 1
        await cache.set("aexy:t:other", "v", 500)
    finally:
        await cache.aclose()
    assert set(rows(path)) == {"aexy:t:long", "aexy:t:other"}


async def test_stats_show_the_file_its_size_and_its_entries(path: Path) -> None:
    cache = SqliteCache(path, max_bytes=1 << 20)
    try:
        await cache.set("aexy:code_quality:1", "v" * 100, 60)
        await cache.get("aexy:code_quality:1")
        await cache.get("aexy:code_quality:absent")
        stats = await cache.stats()
    finally:
        await cache.aclose()
    assert stats["backend"] == "sqlite"
    assert stats["path"] == str(path)
    assert stats["file_bytes"] >= os.stat(path).st_size > 0
    assert (stats["entries"], stats["bytes"], stats["max_bytes"]) == (
        1, 100 + len("aexy:code_quality:1"), 1 << 20)
    assert (stats["hits"], stats["misses"], stats["errors"]) == (1, 1, 0)


async def test_clear_gives_the_space_back(path: Path) -> None:
    cache = SqliteCache(path)
    try:
        for i in range(200):
            await cache.set(f"aexy:t:{i}", "x" * 4000, 60)
        full = (await cache.stats())["file_bytes"]
        assert await cache.clear() == 200
        emptied = (await cache.stats())["file_bytes"]
    finally:
        await cache.aclose()
    assert full > 800_000
    assert emptied < full / 4, (full, emptied)


async def test_clear_matches_the_prefix_literally(path: Path) -> None:
    cache = SqliteCache(path)
    try:
        for key in ("aexy:a_b:1", "aexy:aXb:1", "aexy:A_B:1", "aexy:a_b"):
            await cache.set(key, "v", 60)
        assert await cache.clear("aexy:a_b:") == 1  # not LIKE: _ is no wildcard, case counts
        assert sorted(rows(path)) == ["aexy:A_B:1", "aexy:aXb:1", "aexy:a_b"]
    finally:
        await cache.aclose()


async def test_an_unusable_folder_makes_clear_a_typed_error_and_stats_say_why(
        tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cache = SqliteCache(tmp_path / "file" / "cache.sqlite3")
    try:
        await cache.set("aexy:t:1", "v", 60)  # dropped, no error
        assert await cache.get("aexy:t:1") is None
        with pytest.raises(CacheBackendError, match="AEXY_CACHE_PATH"):
            await cache.clear()
        stats = await cache.stats()
    finally:
        await cache.aclose()
    assert "error" in stats and stats["errors"] >= 3


async def test_a_file_from_a_newer_aexy_is_left_alone(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    cache = SqliteCache(path)
    try:
        await cache.set("aexy:t:1", "v", 60)
        assert await cache.get("aexy:t:1") is None
        assert "newer aexy" in (await cache.stats())["error"]
    finally:
        await cache.aclose()
    assert list(path.parent.iterdir()) == [path]  # not moved aside: it is not damaged


async def test_the_memory_tier_sits_in_front(path: Path) -> None:
    from aexy.catalogue import builtin_specs

    spec = next(s for s in builtin_specs() if s.name == "code_quality")
    result = spec.result_model.model_validate(
        {"score": 7, "strengths": [], "issues": [], "suggestions": [], "summary": "ok"})
    tiered = TieredCache(SqliteCache(path), recorder=Recorder())
    await tiered.set("aexy:code_quality:k", spec, result, "p", "m", 60)
    assert (await tiered.get("aexy:code_quality:k", spec, 60)).tier == "memory"  # type: ignore[union-attr]
    await tiered.memory.clear()
    hit = await tiered.get("aexy:code_quality:k", spec, 60)
    assert hit is not None and hit.tier == "sqlite" and hit.result == result
    assert [s["backend"] for s in await tiered.stats()] == ["memory", "sqlite"]
    await tiered.aclose()


# -- configuration -----------------------------------------------------------------------------
def test_the_default_file_is_in_the_user_cache_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("AEXY_CACHE_PATH")  # set for every other test by conftest
    if sys.platform.startswith("linux"):
        assert default_cache_path() == tmp_path / "xdg" / "aexy" / "cache.sqlite3"
    cache = SqliteCache.from_settings(AexySettings())
    assert cache.path == default_cache_path()
    assert cache.max_bytes == 256 * 1024 * 1024


def test_settings_choose_the_file_and_the_bound(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("AEXY_CACHE_PATH", str(tmp_path / "mine.db"))
    monkeypatch.setenv("AEXY_CACHE_MAX_BYTES", "64MiB")
    cache = SqliteCache.from_settings(AexySettings())
    assert (cache.path, cache.max_bytes) == (tmp_path / "mine.db", 64 * 1024 * 1024)


def test_it_is_chosen_by_name_and_never_instead_of_an_installed_plugin(
        tmp_path: Path) -> None:
    # aexy-fixture-legacy's own "sqlite" would replace the built-in one (test_plugin_legacy).
    host = PluginHost(environ={"AEXY_DISABLE_PLUGINS": "aexy-fixture-legacy"})
    choice = select_backend(AexySettings(AEXY_CACHE_BACKEND="sqlite"), host)
    assert (choice.spec.name, choice.reason) == ("sqlite", "AEXY_CACHE_BACKEND=sqlite")
    built = build_cache_backend(choice.spec,
                                AexySettings(AEXY_CACHE_PATH=str(tmp_path / "c.db")), host)
    assert isinstance(built, SqliteCache) and built.path == tmp_path / "c.db"
    # Without a choice and without a plugin backend, sqlite is the embedded default.
    only_core = PluginHost(environ={"AEXY_LOAD_PLUGINS": ""})
    choice = select_backend(AexySettings(cache_backend=None), only_core)
    assert choice.spec.name == "sqlite" and choice.owner == "aexy-core"
    assert choice.reason == "the embedded default; no plugin backend is installed"


# -- several processes -------------------------------------------------------------------------
_WRITER = textwrap.dedent("""
    import asyncio, json, sys
    from aexy.sqlite_cache import SqliteCache

    path, me, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

    async def main():
        cache = SqliteCache(path, busy_timeout=30)
        print("ready", flush=True)
        sys.stdin.readline()  # both start together
        for i in range(count):
            await cache.set(f"aexy:t:{me}:{i}", f"{me}-{i}-" + "x" * 2000, 3600)
        print("written", flush=True)
        others = sys.stdin.readline().split()
        found = {o: sum([await cache.get(f"aexy:t:{o}:{i}") == f"{o}-{i}-" + "x" * 2000
                         for i in range(count)]) for o in others}
        stats = await cache.stats()
        await cache.aclose()
        print(json.dumps({"found": found, "errors": stats["errors"],
                          "recovered": stats["recovered"]}), flush=True)

    asyncio.run(main())
""")


def test_two_processes_share_one_file(path: Path) -> None:
    count = 300
    procs = {me: subprocess.Popen([sys.executable, "-c", _WRITER, str(path), me, str(count)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for me in ("a", "b")}
    try:
        for proc in procs.values():
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", \
                proc.stderr
        for proc in procs.values():  # write at the same time
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs.values():
            assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
        reports = {}
        for me, proc in procs.items():  # then each reads everything, the other's too
            out, err = proc.communicate("a b\n", timeout=120)
            assert proc.returncode == 0, err
            reports[me] = json.loads(out)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for report in reports.values():
        assert report == {"found": {"a": count, "b": count}, "errors": 0, "recovered": 0}
    assert len(rows(path)) == 2 * count


_KILLED = textwrap.dedent("""
    import asyncio, sys
    from aexy.sqlite_cache import SqliteCache

    async def main():
        cache = SqliteCache(sys.argv[1], max_bytes=3_000_000)
        i = 0
        while True:  # until killed; past the bound, every write evicts too
            await cache.set(f"aexy:t:{i}", f"{i}:" + str(i) * 20_000, 3600)
            print(i, flush=True)
            i += 1

    asyncio.run(main())
""")


def test_a_process_killed_in_mid_write_leaves_a_sound_file(path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        committed = -1
        while committed < 400:  # well past the bound: it evicts while it writes
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            committed = int(line)
        proc.send_signal(signal.SIGKILL)  # in the middle of the next write
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored, entries = db.execute("SELECT bytes, entries FROM totals").fetchone()
    assert (stored, entries) == db.execute("SELECT sum(size), count(*) FROM entries").fetchone()
    db.close()
    found = rows(path)
    # Every entry that is there is whole, the last committed one is there, and the bound held.
    assert all(v == f"{k.rsplit(':', 1)[1]}:".encode() + k.rsplit(":", 1)[1].encode() * 20_000
               for k, v in found.items())
    assert f"aexy:t:{committed}" in found
    assert stored <= 3_000_000

    async def reopen() -> tuple[str | None, dict[str, Any]]:
        cache = SqliteCache(path)
        try:
            await cache.set("aexy:t:after", "v", 60)
            return await cache.get("aexy:t:after"), await cache.stats()
        finally:
            await cache.aclose()

    value, stats = asyncio.run(reopen())
    assert (value, stats["recovered"], stats["errors"]) == ("v", 0, 0)


# -- damaged files -----------------------------------------------------------------------------
@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level("WARNING", logger="aexy")
    return caplog


def aside_files(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.glob(f"{path.name}.corrupt-*")
                  if not p.name.endswith(("-wal", "-shm")))


async def test_a_file_that_is_not_a_database_is_moved_aside_and_replaced(
        path: Path, warnings: pytest.LogCaptureFixture) -> None:
    write(path, b"this is not an SQLite file" * 1000)
    cache = SqliteCache(path)
    try:
        assert await cache.get("aexy:t:1") is None  # a miss, not an error
        await cache.set("aexy:t:1", "v", 60)
        assert await cache.get("aexy:t:1") == "v"
        stats = await cache.stats()
    finally:
        await cache.aclose()
    assert (stats["recovered"], stats["errors"]) == (1, 0)
    [aside] = aside_files(path)
    assert aside.read_bytes().startswith(b"this is not an SQLite file")
    assert "moved aside" in warnings.text and aside.name in warnings.text


async def test_a_file_damaged_in_the_middle_is_moved_aside_on_the_next_read(
        path: Path, clock: Clock) -> None:
    cache = SqliteCache(path, clock=clock)
    for i in range(300):
        await cache.set(f"aexy:t:{i}", f"value {i} " * 300, 3600)
    await cache.aclose()
    with path.open("r+b") as f:  # garbage over every page after the first
        size = f.seek(0, os.SEEK_END)
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    cache = SqliteCache(path, clock=clock)
    try:
        got = [await cache.get(f"aexy:t:{i}") for i in range(0, 300, 50)]
        await cache.set("aexy:t:new", "v", 60)
        assert await cache.get("aexy:t:new") == "v"
        stats = await cache.stats()
    finally:
        await cache.aclose()
    assert got == [None] * 6
    assert stats["recovered"] == 1 and stats["entries"] == 1
    assert len(aside_files(path)) == 1


async def test_an_unreadable_file_is_moved_aside(path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file: permissions cannot make it unreadable")
    cache = SqliteCache(path)
    await cache.set("aexy:t:1", "v", 60)
    await cache.aclose()
    os.chmod(path, 0)
    cache = SqliteCache(path)
    try:
        await cache.set("aexy:t:2", "v", 60)
        assert await cache.get("aexy:t:2") == "v"
        assert (await cache.stats())["recovered"] == 1
    finally:
        await cache.aclose()


async def test_only_the_newest_moved_aside_files_are_kept(path: Path) -> None:
    for _ in range(5):  # five recoveries within a second, by one process
        write(path, b"garbage" * 100)
        cache = SqliteCache(path)
        await cache.get("aexy:t:1")
        assert cache.recovered == 1
        await cache.aclose()
    assert len(aside_files(path)) == 3


async def test_a_file_another_process_already_replaced_is_not_moved_again(path: Path) -> None:
    a = SqliteCache(path)
    await a.set("aexy:t:1", "v", 60)
    # Another process found the file damaged, moved it aside and made a new one with an entry.
    os.replace(path, path.with_name("elsewhere"))
    b = SqliteCache(path)
    await b.set("aexy:t:2", "fresh", 60)
    await b.aclose()
    try:
        a._move_aside(sqlite3.DatabaseError("file is not a database"))  # a's own view
        assert await a.get("aexy:t:2") == "fresh"  # reopened the new file, did not move it
    finally:
        await a.aclose()
    assert aside_files(path) == []
