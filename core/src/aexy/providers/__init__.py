"""Providers that ship with the core (no network, no key)."""

from __future__ import annotations

from aexy.contract.provider import ProviderSpec


def builtin_providers() -> list[ProviderSpec]:
    # Imported here: the host collects providers lazily, and ``aexy --help`` never gets this far.
    from aexy.providers.offline import OfflineProvider

    return [
        ProviderSpec(
            "offline",
            OfflineProvider,
            "documented heuristics (code, activity, tasks); no network, key or model",
        )
    ]
