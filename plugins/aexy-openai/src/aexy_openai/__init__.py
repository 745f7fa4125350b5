"""aexy provider plugin for OpenAI and every server that speaks its chat-completions API.

Loading this module (what the ``aexy`` entry point does) imports neither httpx nor the
provider module: the class is imported when the hook is called, and httpx when a client is
first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aexy.plugin_api import hookimpl

if TYPE_CHECKING:
    from aexy.plugin_api import ProviderSpec
    from aexy_openai.provider import OpenAIProvider, OpenAISettings

__all__ = ["OpenAIProvider", "OpenAISettings", "register_providers"]
__version__ = "0.1.0"


@hookimpl
def register_providers() -> list[ProviderSpec]:
    from aexy.plugin_api import ProviderSpec
    from aexy_openai.provider import OpenAIProvider

    return [
        ProviderSpec(
            "openai",
            OpenAIProvider,
            "OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, LM Studio, Ollama /v1, "
            "OpenRouter, Together, Groq) over httpx",
        )
    ]


def __getattr__(name: str) -> Any:
    # Lazy re-exports: ``from aexy_openai import OpenAIProvider`` works without making the
    # entry point pay for the provider module.
    if name in ("OpenAIProvider", "OpenAISettings"):
        from aexy_openai import provider

        return getattr(provider, name)
    raise AttributeError(f"module 'aexy_openai' has no attribute {name!r}")
