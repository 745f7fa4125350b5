"""Shared fixtures. Every test runs with a clean aexy environment in an empty directory, so a
developer's real keys, .env file or prompt overrides can never leak into a test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from aexy.cli import AexyGroup, make_cli
from aexy.plugins import PluginHost, reset_plugin_host
from aexy.testing import FakeProvider, find_secret, install_fake_provider

_PREFIXES = ("LLM_", "AEXY_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "CLAUDE_", "REDIS_", "LEGACY_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES) and not name.startswith("AEXY_LIVE_"):
            monkeypatch.delenv(name, raising=False)
    # The test environment has every plugin installed (aexy-redis and a fixture backend among
    # them), where a user's has one or none: tests use the memory cache unless they choose.
    monkeypatch.setenv("AEXY_CACHE_BACKEND", "memory")
    # A test that asks for the embedded sqlite backend never touches the user's cache dir.
    monkeypatch.setenv("AEXY_CACHE_PATH",
                       str(tmp_path_factory.mktemp("cache") / "aexy-cache.sqlite3"))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    FakeProvider.script = []
    reset_plugin_host(None)
    yield
    reset_plugin_host(None)
    FakeProvider.script = []


@pytest.fixture
def host() -> PluginHost:
    """A plugin host with the built-ins and the fake provider, and no installed plugin."""
    h = PluginHost(entry_points=False)
    install_fake_provider(h)
    return h


def _secret_paths(root: object, secret: str) -> list[str]:
    """Where ``secret`` can be reached from ``root`` (empty when nowhere), by the one finder
    every test uses (:func:`aexy.testing.find_secret`)."""
    found = find_secret(root, secret, max_depth=24)
    return [] if found is None else [found]


@pytest.fixture
def secret_paths() -> object:
    """``secret_paths(error, key)``: the reference paths from ``error`` to ``key`` (empty when
    the key is unreachable)."""
    return _secret_paths


@pytest.fixture
def cli(host: PluginHost) -> AexyGroup:
    """A fresh root command whose process-wide plugin host is the test ``host``."""
    reset_plugin_host(host)
    return make_cli()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
