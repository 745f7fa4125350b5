"""Fixtures for the resilience tests: a virtual clock, scripted providers with distinct names,
and a gateway factory. Nothing here really waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from aexy.completion import Completion, CompletionRequest
from aexy.errors import ErrorCode, LLMError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.base import BaseLLMProvider
from aexy.resilience import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, install_fake_provider

CODE = "def add(a, b):\n    return a + b\n"


class BackupProvider(FakeProvider):
    """A second provider name for fallback chains."""

    name: ClassVar[str] = "backup"


class ThirdProvider(FakeProvider):
    name: ClassVar[str] = "third"


class SlowProvider(FakeProvider):
    """Takes ``latency`` seconds of the injected sleep per call; ``gate`` blocks until set."""

    def __init__(self, *args: Any, sleep: Callable[[float], Any] | None = None,
                 latency: float = 0.0, gate: asyncio.Event | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._sleep = sleep
        self.latency = latency
        self.gate = gate
        self.started = 0
        self.cancelled = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.started += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.latency and self._sleep is not None:
                await self._sleep(self.latency)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return await super().complete(request)


def err(code: ErrorCode | str, *, status: int | None = None,
        retry_after: float | None = None, message: str = "provider said no") -> LLMError:
    """An error as a provider plugin raises it after mapping an HTTP answer."""
    return LLMError(message, code=code, provider="fake", model="fake-model",
                    status_code=status, retry_after=retry_after)


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(start=1000.0)


@pytest.fixture
def rhost(host: PluginHost) -> PluginHost:
    install_fake_provider(host, BackupProvider)
    install_fake_provider(host, ThirdProvider)
    return host


GatewayFactory = Callable[..., LLMGateway]


@pytest.fixture
def make_gateway(rhost: PluginHost, vclock: VirtualClock) -> Iterator[GatewayFactory]:
    """``make_gateway(primary, fallbacks=(), random=..., **settings)``; jitter defaults to the
    ceiling (random() == 1.0) so expected sleeps are exact."""
    made: list[LLMGateway] = []

    def factory(provider: str | BaseLLMProvider = "fake", *,
                fallbacks: tuple[str | BaseLLMProvider, ...] = (),
                random: Callable[[], float] = lambda: 1.0,
                cache: bool | None = False, **settings: Any) -> LLMGateway:
        gw = LLMGateway(provider=provider, fallbacks=fallbacks, plugins=rhost,
                        settings=AexySettings(**settings), cache=cache, clock=vclock,
                        sleep=vclock.sleep, random=random)
        made.append(gw)
        return gw

    yield factory
    for gw in made:
        gw._closed = True  # providers are test objects; nothing to release


async def settle(condition: Callable[[], bool], rounds: int = 10_000) -> None:
    """Let other tasks run until ``condition()`` holds (bounded: a bug fails, never hangs)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")
