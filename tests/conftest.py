"""Shared fixtures. Every test runs with a clean aexy environment in an empty directory, so a
developer's real keys, .env file or prompt overrides can never leak into a test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from aexy.plugins import PluginHost, reset_plugin_host
from aexy.testing import FakeProvider, install_fake_provider

_PREFIXES = ("LLM_", "AEXY_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "CLAUDE_", "REDIS_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES) and not name.startswith("AEXY_LIVE_"):
            monkeypatch.delenv(name, raising=False)
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
