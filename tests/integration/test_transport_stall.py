"""A stalled server must not lock up a provider's connection pool (issue 23): through the gateway,
whose attempt cutoff cancels calls that outlive the provider's timeout, against
``tools/fault_server.py`` on loopback. Four times as many callers as pool slots, the server 5 s
late, then healthy: every later call succeeds and no slot is left busy with no request.

aexy-openai and aexy-ollama build their client on ``PoolTransport`` (the HTTP provider base does,
for every provider on it); on httpx's own pool (encode/httpcore#1093) they lost slots in most
runs. aexy-claude runs on the Anthropic SDK's httpx2 pool, which has no such loss.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tools.fault_server import FaultServer, Mode

from aexy.errors import AexyError
from aexy.gateway import LLMGateway
from aexy.plugin_api import PoolTransport
from aexy.plugins import PluginHost
from aexy.providers.base import BaseLLMProvider
from aexy.settings import AexySettings

POOL = 16
CODE = "def add(a, b):\n    return a + b\n"
@pytest.fixture
async def server() -> AsyncIterator[FaultServer]:
    async with FaultServer() as s:
        yield s


def build(kind: str, server: FaultServer) -> BaseLLMProvider:
    if kind == "openai":
        from aexy_openai import OpenAIProvider, OpenAISettings

        return OpenAIProvider(OpenAISettings(base_url=server.url + "/v1", timeout=60,
                                             max_connections=POOL))
    if kind == "ollama":
        from aexy_ollama import OllamaProvider, OllamaSettings

        return OllamaProvider(OllamaSettings(base_url=server.url, timeout=60,
                                             max_connections=POOL))
    from aexy_claude import ClaudeProvider, ClaudeSettings

    return ClaudeProvider(ClaudeSettings(api_key="sk-ant-api03-loopback-0000",
                                         base_url=server.url, timeout=60,
                                         requests_per_minute=100_000,  # no limiter waits
                                         tokens_per_minute=10**9))


def lost_slots(provider: BaseLLMProvider) -> int:
    """Connections of the provider's pool that are busy while no request holds them."""
    if provider.name == "claude":
        pool: Any = provider._get_client()._client._transport._pool  # type: ignore[attr-defined]
    else:
        transport: Any = provider.client._transport  # type: ignore[attr-defined]
        assert isinstance(transport, PoolTransport)  # what the HTTP provider base builds
        return int(transport.lost_connections())
    held = {id(r.connection) for r in pool._requests}
    return sum(not c.is_idle() and not c.is_closed() and id(c) not in held
               for c in pool.connections)


async def stall_then_recover(kind: str, server: FaultServer) -> tuple[int, int]:
    provider = build(kind, server)
    settings = AexySettings(max_attempts=1, coalesce=False, breaker_failure_rate=0)
    async with LLMGateway(provider=provider, fallbacks=(), cache=False, settings=settings,
                          plugins=PluginHost(entry_points=False)) as gw:
        n = 0

        async def analyze(deadline: float) -> bool:
            nonlocal n
            n += 1
            try:
                await gw.analyze("code_quality", f"{CODE}# {n}\n", timeout=deadline)
            except AexyError:
                return False
            return True

        assert await analyze(60)  # warm: the client built, the SDK imported
        # Each attempt is cut at 0.3 s: the deadline caps the provider's timeout.
        server.mode = Mode(delay=5.0)
        assert not any(await asyncio.gather(*(analyze(0.3) for _ in range(4 * POOL))))
        await asyncio.sleep(0.1)
        lost = lost_slots(provider)
        server.mode = Mode()
        ok = sum(await asyncio.gather(*(analyze(30) for _ in range(4 * POOL))))
    return lost, ok


@pytest.mark.parametrize("kind", ["openai", "ollama"])
async def test_a_stall_loses_no_slot(server: FaultServer, kind: str) -> None:
    assert await stall_then_recover(kind, server) == (0, 4 * POOL)


async def test_a_stall_loses_no_slot_on_the_claude_sdk_path(server: FaultServer) -> None:
    assert await stall_then_recover("claude", server) == (0, 4 * POOL)
