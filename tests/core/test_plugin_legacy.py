"""Plugins written against an earlier release keep working, unchanged.

``aexy-fixture-legacy`` is a provider, a SQLite cache backend, a prompt source and a
post-processor written from the aexy-core 0.1.0 docs: settings that name each variable with
``validation_alias`` and no ``env_prefix``, a backend without ``delete()`` or ``name``, imports
from the modules that release documented. The compatibility policy (docs/plugins.md) says an
additive change never breaks such a plugin, and a requirement added later is a deprecation first.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from aexy import LLMGateway
from aexy.plugins import PluginHost
from aexy.settings import AexySettings

CODE = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def legacy_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LEGACY_API_KEY", "legacy-key-1")
    db = tmp_path / "legacy.sqlite3"
    monkeypatch.setenv("LEGACY_SQLITE_PATH", str(db))
    return db


def _host() -> PluginHost:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return PluginHost()


def test_every_record_of_the_legacy_plugin_is_accepted() -> None:
    host = _host()
    info = next(p for p in host.plugins() if p.name == "legacy")
    assert info.status == "active"
    host.registries()
    assert host.rejected_records("legacy") == []
    assert host.providers().owners["legacy"] == "aexy-fixture-legacy"
    assert host.cache_backends().owners["sqlite"] == "aexy-fixture-legacy"
    assert "house" in host.prompt_sources().names()
    assert "shout" in host.postprocessors().names()


def test_what_a_later_api_refuses_is_announced_with_the_plugin_the_member_and_the_fix() -> None:
    host = PluginHost()
    with pytest.warns(DeprecationWarning, match="env_prefix") as caught:
        host.providers()
    messages = [str(w.message) for w in caught if "aexy-fixture-legacy" in str(w.message)]
    assert len(messages) == 1
    (message,) = messages
    assert "LegacySettings sets no env_prefix of its own" in message
    assert 'SettingsConfigDict(env_prefix="NAME_")' in message  # the fix
    assert "refused from 2.0" in message  # when it stops working
    assert [d.record for d in host.deprecations if d.distribution == "aexy-fixture-legacy"] == [
        "legacy"]


async def test_the_provider_prompt_source_and_post_processor_work_through_the_gateway(
        legacy_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGACY_HOUSE_STYLE", "1")
    settings = AexySettings(postprocessors=["shout"], cache_backend="memory")
    async with LLMGateway("legacy", plugins=_host(), settings=settings) as gw:
        result = await gw.analyze("code_quality", CODE)
    # The house prompt (4 lines around the 2-line code) reached the provider.
    assert result.summary == "5 LINES REVIEWED"  # type: ignore[attr-defined]
    assert result.provenance.provider == "legacy"
    assert result.provenance.prompt_version == "house-1"


async def test_the_sqlite_backend_without_delete_or_name_serves_the_next_process(
        legacy_env: Path) -> None:
    settings = AexySettings(cache_backend="sqlite")
    async with LLMGateway("legacy", plugins=_host(), settings=settings) as gw:
        first = await gw.analyze("code_quality", CODE)
        # A corrupt entry is a miss, then overwritten: the backend has no delete().
        key = next(iter(sqlite3.connect(legacy_env).execute("SELECT key FROM cache")))[0]
    assert not first.provenance.cache_hit
    db = sqlite3.connect(legacy_env)
    db.execute("UPDATE cache SET value = 'garbage' WHERE key = ?", (key,))
    db.commit()
    async with LLMGateway("legacy", plugins=_host(), settings=settings) as gw:
        healed = await gw.analyze("code_quality", CODE)
        assert not healed.provenance.cache_hit
        tiers = await gw.cache_stats()
    assert tiers[1]["backend"] == "sqlite" and tiers[1]["entries"] == 1
    async with LLMGateway("legacy", plugins=_host(), settings=settings) as gw:
        again = await gw.analyze("code_quality", CODE)
    assert again.provenance.cache_tier == "sqlite"


async def test_offline_analyses_use_the_legacy_backend_too(legacy_env: Path) -> None:
    settings = AexySettings(cache_backend="sqlite")
    for expected_hit in (False, True):
        async with LLMGateway("offline", plugins=_host(), settings=settings) as gw:
            result = await gw.analyze("skill_extraction", CODE,
                                      context={"file_path": "add.py"})
        assert result.provenance.cache_hit is expected_hit


def test_aexy_plugins_tells_the_truth_about_the_legacy_plugin(legacy_env: Path) -> None:
    env = {"AEXY_CACHE_BACKEND": "sqlite", "PATH": "", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "aexy", "plugins", "--json"], env=env,
                          capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    legacy = next(p for p in data["plugins"] if p["name"] == "legacy")
    assert legacy["status"] == "active" and legacy["rejected"] == []
    assert any("env_prefix" in d for d in legacy["deprecations"])
    assert any("no upper bound" in w for w in legacy["warnings"])  # aexy-core>=0.1
    assert data["cache_backend"]["name"] == "sqlite"
    assert "AEXY_CACHE_BACKEND=sqlite" in data["cache_backend"]["reason"]
    # The core took up the name "sqlite" after the plugin had it: the plugin's still wins.
    assert {"kind": "cache backend", "name": "sqlite",
            "distribution": "aexy-fixture-legacy"} in data["overrides"]


def test_the_0_1_0_provider_module_still_imports_with_a_deprecation() -> None:
    code = ("import warnings; warnings.simplefilter('error')\n"
            "try:\n    import aexy.provider\nexcept DeprecationWarning as w:\n    print(w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "aexy.provider is deprecated" in out and "aexy.plugin_api" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from aexy.provider import BaseLLMProvider
    from aexy.plugin_api import BaseLLMProvider as Current

    assert BaseLLMProvider is Current
