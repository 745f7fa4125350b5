"""Shared fixtures. Every test runs with a clean aexy environment in an empty directory, so a
developer's real keys, .env file or prompt overrides can never leak into a test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from aexy.cli import AexyGroup, make_cli
from aexy.plugins import PluginHost, reset_plugin_host
from aexy.testing import FakeProvider, install_fake_provider

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
    """Where ``secret`` can be reached from ``root``, following every reference an object holds
    (exception ``__context__``/``__cause__``/``args``, attributes, containers, headers).

    Tracebacks, frames, code, modules, classes and functions are not followed: any exception
    raised inside a provider method has the provider (and so its key) among its frame locals;
    what the standard forbids is a secret riding along with the error object itself.
    """
    import gc
    import types

    skip = (types.TracebackType, types.FrameType, types.CodeType, types.ModuleType, type,
            types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    needle = secret.encode()
    seen: set[int] = set()
    stack: list[tuple[object, str]] = [(root, type(root).__name__)]
    found: list[str] = []
    while stack:
        obj, path = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if secret in obj:
                found.append(path)
            continue
        if isinstance(obj, bytes | bytearray):
            if needle in obj:
                found.append(path)
            continue
        if isinstance(obj, skip):
            continue
        stack.extend((ref, f"{path} -> {type(ref).__name__}") for ref in gc.get_referents(obj))
    return found


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
