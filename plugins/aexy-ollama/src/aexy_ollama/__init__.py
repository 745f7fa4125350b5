"""aexy-ollama: local models through a running Ollama server.

Installing the distribution registers the ``ollama`` provider through the ``aexy`` entry point
group; select it with ``LLM_PROVIDER=ollama``. Importing this module does not import httpx.
"""

from __future__ import annotations

from aexy.plugin_api import ProviderSpec, hookimpl
from aexy_ollama.provider import OllamaProvider, OllamaSettings

__all__ = ["OllamaProvider", "OllamaSettings", "register_providers"]
__version__ = "0.1.0"


@hookimpl
def register_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "ollama",
            OllamaProvider,
            "local models through a running Ollama server (POST /api/chat, schema as format)",
        )
    ]
