"""Test helpers for aexy and its plugins. Nothing here is registered by entry point, and nothing
here imports pytest when imported: pytest is needed only to run the contract suites.

- :class:`FakeProvider` and :func:`install_fake_provider`: a deterministic provider for
  tests of code that uses the gateway.
- :class:`ProviderContract`: the conformance suite a provider plugin's tests subclass.
- :class:`CacheBackendContract`: the conformance suite a cache backend plugin's tests subclass.
- :class:`ScriptedServer` and :func:`find_secret`: what the suites are built on.

``docs/writing-plugins.md`` shows each in use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aexy.testing.cache_contract import CacheBackendContract
    from aexy.testing.fake import FakeProvider, FakeSettings, install_fake_provider
    from aexy.testing.provider_contract import ProviderContract
    from aexy.testing.wire import ScriptedServer, find_secret

_EXPORTS: dict[str, str] = {
    "FakeProvider": "aexy.testing.fake",
    "FakeSettings": "aexy.testing.fake",
    "install_fake_provider": "aexy.testing.fake",
    "ProviderContract": "aexy.testing.provider_contract",
    "CacheBackendContract": "aexy.testing.cache_contract",
    "ScriptedServer": "aexy.testing.wire",
    "find_secret": "aexy.testing.wire",
}

__all__ = [
    "CacheBackendContract",
    "FakeProvider",
    "FakeSettings",
    "ProviderContract",
    "ScriptedServer",
    "find_secret",
    "install_fake_provider",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aexy.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
