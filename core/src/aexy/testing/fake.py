"""A deterministic fake provider that tests register on a plugin host.

Nothing here is registered by entry point, so it never shows up in a user's install::

    host = PluginHost(entry_points=False)
    install_fake_provider(host)
    async with LLMGateway(provider="fake", plugins=host) as gateway: ...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from aexy.contract.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.contract.hooks import hookimpl
from aexy.contract.provider import BaseLLMProvider, ProviderSettings, ProviderSpec, RateLimits
from aexy.plugins import PluginHost, PluginInfo
from aexy.schema import example_from_schema

__all__ = ["FakeProvider", "FakeSettings", "install_fake_provider"]

Reply = str | Completion | Exception | Callable[[CompletionRequest], "str | Completion"]


class FakeSettings(ProviderSettings):
    """``AEXY_FAKE_MODEL``, ``AEXY_FAKE_API_KEY``, ..."""

    model_config = SettingsConfigDict(env_prefix="AEXY_FAKE_", env_file=".env", extra="ignore")

    model: str = "fake-model"
    api_key: SecretStr | None = None


class FakeProvider(BaseLLMProvider):
    """Answers from a script of replies, then with a schema-valid example.

    Each reply is a text, a :class:`Completion`, an exception to raise, or a callable taking
    the request. ``calls`` records every request received.
    """

    name: ClassVar[str] = "fake"
    settings_class: ClassVar[type[ProviderSettings]] = FakeSettings
    default_limits: ClassVar[RateLimits] = RateLimits()

    #: Script shared by instances the gateway builds by name (set by tests).
    script: ClassVar[list[Reply]] = []

    def __init__(self, settings: ProviderSettings | None = None, *, model: str | None = None,
                 replies: Iterable[Reply] | None = None, available: bool = True) -> None:
        super().__init__(settings, model=model)
        self.replies: list[Reply] = list(replies) if replies is not None else FakeProvider.script
        self.calls: list[CompletionRequest] = []
        self.available = available
        self.closed = False

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls.append(request)
        reply: Reply | None = self.replies.pop(0) if self.replies else None
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            reply = reply(request)
        if isinstance(reply, Completion):
            return reply
        if reply is None:
            schema = dict(request.json_schema or {"type": "object"})
            reply = json.dumps(example_from_schema(schema))
        return Completion(
            text=reply, model=request.model or self.model,
            usage=Usage(input_tokens=max(1, request.prompt_chars // 4),
                        output_tokens=max(1, len(reply) // 4)),
            finish_reason=FinishReason.STOP, raw_finish_reason="stop",
        )

    async def is_available(self) -> bool:
        return self.available

    async def aclose(self) -> None:
        self.closed = True


class _FakePlugin:
    def __init__(self, provider_class: type[BaseLLMProvider]) -> None:
        self.provider_class = provider_class

    @hookimpl
    def register_providers(self) -> list[ProviderSpec]:
        return [ProviderSpec(self.provider_class.name, self.provider_class,
                             "deterministic fake for tests")]


def install_fake_provider(host: PluginHost,
                          provider_class: type[BaseLLMProvider] = FakeProvider) -> PluginInfo:
    """Register ``provider_class`` (default :class:`FakeProvider`) on ``host``."""
    return host.register(_FakePlugin(provider_class), name=f"aexy-testing-{provider_class.name}",
                         distribution="aexy-core", version="test")
