"""aexy provider plugin that runs a GGUF model in-process with llama.cpp.

Loading this module (what the ``aexy`` entry point does) imports neither llama_cpp nor the
provider module: the class is imported when the hook is called, llama_cpp when the model is
first loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aexy.plugin_api import hookimpl

if TYPE_CHECKING:
    from aexy.plugin_api import ProviderSpec
    from aexy_llamacpp.provider import LlamaCppProvider
    from aexy_llamacpp.settings import LlamaCppSettings

__all__ = ["LlamaCppProvider", "LlamaCppSettings", "register_providers"]
__version__ = "0.1.0"


@hookimpl
def register_providers() -> list[ProviderSpec]:
    from aexy.plugin_api import ProviderSpec
    from aexy_llamacpp.provider import LlamaCppProvider

    return [
        ProviderSpec(
            "llamacpp",
            LlamaCppProvider,
            "a GGUF model run in-process by llama.cpp (no server); schema as a JSON grammar",
        )
    ]


def __getattr__(name: str) -> Any:
    # Lazy re-exports: ``from aexy_llamacpp import LlamaCppProvider`` works without making the
    # entry point pay for the provider module.
    if name == "LlamaCppProvider":
        from aexy_llamacpp import provider

        return provider.LlamaCppProvider
    if name == "LlamaCppSettings":
        from aexy_llamacpp import settings

        return settings.LlamaCppSettings
    raise AttributeError(f"module 'aexy_llamacpp' has no attribute {name!r}")
