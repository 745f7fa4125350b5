"""Concurrent analyses reuse the provider's connections: a loopback server that answers like
OpenAI and Ollama counts the TCP connections it accepts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.base import BaseLLMProvider
from aexy.settings import AexySettings

ANSWER = json.dumps({"score": 7, "strengths": ["clear"], "issues": [], "suggestions": [],
                     "summary": "Fine."})
OPENAI = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}).encode()
OLLAMA = json.dumps({
    "model": "m", "created_at": "2025-01-01T00:00:00Z",
    "message": {"role": "assistant", "content": ANSWER}, "done": True, "done_reason": "stop",
    "prompt_eval_count": 10, "eval_count": 5,
}).encode()


@dataclass
class Stub:
    port: int
    connections: int = 0


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 stub: Stub) -> None:
    stub.connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            await asyncio.sleep(0.01)  # a slow model: calls overlap
            body = OLLAMA if head.startswith(b"POST /api/chat") else OPENAI
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    state = Stub(port=0)
    server = await asyncio.start_server(lambda r, w: _serve(r, w, state), "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state


def _provider(kind: str, port: int, connections: int) -> BaseLLMProvider:
    if kind == "openai":
        from aexy_openai import OpenAIProvider, OpenAISettings

        return OpenAIProvider(OpenAISettings(base_url=f"http://127.0.0.1:{port}/v1",
                                             max_connections=connections))
    from aexy_ollama import OllamaProvider, OllamaSettings

    return OllamaProvider(OllamaSettings(base_url=f"http://127.0.0.1:{port}",
                                         max_connections=connections))


@pytest.mark.parametrize("kind", ["openai", "ollama"])
async def test_waves_of_concurrent_calls_reuse_the_connections(stub: Stub, kind: str) -> None:
    callers = 64  # above httpx's default of 20 idle connections
    async with LLMGateway(provider=_provider(kind, stub.port, 256),
                          plugins=PluginHost(entry_points=False), fallbacks=(), cache=False,
                          settings=AexySettings(coalesce=False)) as gw:
        for wave in range(3):
            results = await asyncio.gather(*(gw.analyze("code_quality", f"x = {wave}.{i}")
                                             for i in range(callers)))
            assert all(r.score == 7 for r in results)  # type: ignore[attr-defined]
    assert stub.connections <= callers  # opened once by the first wave, then reused


async def test_the_pool_size_bounds_the_connections(stub: Stub) -> None:
    async with LLMGateway(provider=_provider("openai", stub.port, 8),
                          plugins=PluginHost(entry_points=False), fallbacks=(), cache=False,
                          settings=AexySettings(coalesce=False)) as gw:
        await asyncio.gather(*(gw.analyze("code_quality", f"y = {i}") for i in range(40)))
    assert stub.connections <= 8
