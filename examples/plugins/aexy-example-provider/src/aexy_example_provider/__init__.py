"""aexy-example-provider: the ``acme`` provider of ``docs/writing-plugins.md``.

The entry point (``[project.entry-points.aexy] acme = "aexy_example_provider"``) loads this
module, so it stays cheap: the provider class, and httpx with it, is imported when the hook
is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aexy.plugin_api import ProviderSpec, hookimpl

if TYPE_CHECKING:
    from aexy_example_provider.provider import AcmeProvider, AcmeSettings

__all__ = ["AcmeProvider", "AcmeSettings", "register_providers"]
__version__ = "0.1.0"


@hookimpl
def register_providers() -> list[ProviderSpec]:
    from aexy_example_provider.provider import AcmeProvider

    return [ProviderSpec("acme", AcmeProvider,
                         "the Acme Models API of the plugin guide (ACME_BASE_URL, ACME_API_KEY)")]


def __getattr__(name: str) -> object:
    if name in ("AcmeProvider", "AcmeSettings"):
        from aexy_example_provider import provider

        return getattr(provider, name)
    raise AttributeError(f"module 'aexy_example_provider' has no attribute {name!r}")
