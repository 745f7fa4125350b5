"""Providers that ship with the core (no network, no key)."""

from __future__ import annotations

from aexy.provider import ProviderSpec


def builtin_providers() -> list[ProviderSpec]:
    return []
