"""aexy-claude: Anthropic Claude as an aexy provider (``LLM_PROVIDER=claude``).

Loading this entry point imports neither ``anthropic`` nor ``httpx2``; the SDK is imported
when the first request is sent.
"""

from __future__ import annotations

from aexy.plugin_api import ProviderSpec, hookimpl
from aexy_claude.provider import DEFAULT_MODEL, ClaudeProvider, ClaudeSettings

__all__ = ["DEFAULT_MODEL", "ClaudeProvider", "ClaudeSettings", "register_providers"]
__version__ = "0.1.0"


@hookimpl
def register_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "claude",
            ClaudeProvider,
            "Anthropic Claude through the official SDK (ANTHROPIC_API_KEY, CLAUDE_MODEL)",
        )
    ]
