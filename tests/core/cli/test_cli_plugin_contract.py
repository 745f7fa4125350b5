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


def test_aexy_plugins_names_the_plugin_distribution_and_what_is_missing(
        installed: AexyGroup) -> None:
    runner = CliRunner()
    table = runner.invoke(installed, ["plugins"], env={"COLUMNS": "400"})
    assert table.exit_code == 0, table.output
    assert ("rejected: lacking.register_cache_backends record 'lacking-cache' "
            "(aexy-fixture-lacking): NamelessCache has no name attribute") in table.stdout
    assert "warning: aexy-fixture-lacking declares no aexy-core requirement" in table.stdout
    data = json.loads(runner.invoke(installed, ["plugins", "--json"]).stdout)
    entry = next(e for e in data["hook_errors"] if e["record"] == "lacking")
    assert entry["plugin"] == "lacking"
    assert entry["distribution"] == "aexy-fixture-lacking"
    assert entry["hook"] == "register_providers"
    assert "LackingSettings sets no env_prefix" in entry["error"]


def test_aexy_plugins_reports_an_incompatible_plugin(installed: AexyGroup) -> None:
    runner = CliRunner()
    data = json.loads(runner.invoke(installed, ["plugins", "--json"]).stdout)
    assert data["core_version"] == "0.1.0"
    assert data["plugin_api_version"] == "1.0"
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
