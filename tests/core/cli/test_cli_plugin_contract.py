"""What ``aexy plugins`` and ``aexy config`` show about installed plugins that break the
contract (tests/fixtures/plugins) and about the example plugins."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from aexy.cli import AexyGroup, make_cli
from aexy.plugins import PluginHost, reset_plugin_host


@pytest.fixture
def installed() -> Iterator[AexyGroup]:
    """The command line over every installed plugin (entry points loaded)."""
    reset_plugin_host(PluginHost())
    yield make_cli()
    reset_plugin_host(None)


def test_aexy_plugins_shows_deprecations_and_missing_requirements(installed: AexyGroup) -> None:
    runner = CliRunner()
    table = runner.invoke(installed, ["plugins"], env={"COLUMNS": "400"})
    assert table.exit_code == 0, table.output
    assert ("deprecated: lacking (aexy-fixture-lacking) register_providers record 'lacking': "
            "settings class LackingSettings sets no env_prefix of its own") in table.stdout
    assert "warning: aexy-fixture-lacking declares no aexy-core requirement" in table.stdout
    data = json.loads(runner.invoke(installed, ["plugins", "--json"]).stdout)
    lacking = next(p for p in data["plugins"] if p["name"] == "lacking")
    assert lacking["status"] == "active" and lacking["rejected"] == []
    (notice,) = lacking["deprecations"]
    assert "LackingSettings sets no env_prefix" in notice


def test_aexy_plugins_counts_and_explains_rejected_records(installed: AexyGroup) -> None:
    # aexy-fixture-broken's sound records load; the one lacking a required member is dropped.
    host = PluginHost()
    from aexy.plugin_api import CacheBackendSpec, hookimpl

    class Half:
        async def get(self, key: str) -> str | None:
            return None

    class _Plugin:
        @hookimpl
        def register_cache_backends(self) -> list[CacheBackendSpec]:
            return [CacheBackendSpec("half", Half, "get only")]

    host.register(_Plugin(), name="half", distribution="aexy-half", version="2.0")
    reset_plugin_host(host)
    runner = CliRunner()
    table = runner.invoke(make_cli(), ["plugins"], env={"COLUMNS": "400"})
    assert "active, 1 rejected" in table.stdout
    assert "rejected: half.register_cache_backends record 'half' (aexy-half)" in table.stdout
    data = json.loads(runner.invoke(make_cli(), ["plugins", "--json"]).stdout)
    half = next(p for p in data["plugins"] if p["name"] == "half")
    (rejected,) = half["rejected"]
    assert rejected["record"] == "half"
    # What is missing, since which plugin API, and the fix.
    assert ("Half has no set() method (required since plugin API 1.0); add async def "
            "set(self, key, value, ttl)") in rejected["error"]


def test_aexy_plugins_reports_an_incompatible_plugin(installed: AexyGroup) -> None:
    runner = CliRunner()
    data = json.loads(runner.invoke(installed, ["plugins", "--json"]).stdout)
    assert data["core_version"] == "0.1.0"
    assert data["plugin_api_version"] == "1.1"
    plugin = next(p for p in data["plugins"] if p["name"] == "incompatible")
    assert plugin["status"] == "incompatible"
    assert plugin["requires_core"] == ">=99.0,<100"
    assert "supports aexy-core>=99.0,<100, but aexy-core 0.1.0 is installed" in plugin["error"]
    table = runner.invoke(installed, ["plugins"], env={"COLUMNS": "400"}).stdout
    row = next(line for line in table.splitlines() if line.startswith("│ incompatible"))
    assert "incompatible" in row.split("│")[5]
    assert ">=99.0,<100" in row


def test_aexy_config_shows_a_backends_settings(installed: AexyGroup,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_SQLITE_PATH", "/var/cache/aexy.db")
    runner = CliRunner()
    data = json.loads(runner.invoke(installed, ["config", "--json"]).stdout)
    assert data["cache:example-sqlite"] == {"EXAMPLE_SQLITE_PATH": "/var/cache/aexy.db",
                                            "EXAMPLE_SQLITE_BUSY_TIMEOUT": 5.0}
    table = runner.invoke(installed, ["config"], env={"COLUMNS": "200"}).stdout
    assert "cache backend example-sqlite" in table
    assert "provider acme" in table
