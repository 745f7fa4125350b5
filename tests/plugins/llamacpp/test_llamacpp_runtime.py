"""The model is loaded lazily, once per process; calls run on one worker thread behind a lock, so
the event loop never blocks and a cancelled caller never leaves the context half-used."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from llamacpp_wire import FakeLoader, chat_completion

from aexy import CompletionRequest, ErrorCode, LLMError
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings
from aexy_llamacpp.runtime import release_models


def provider_for(gguf: Path, loader: FakeLoader, **settings: Any) -> LlamaCppProvider:
    return LlamaCppProvider(LlamaCppSettings(model_path=gguf, **settings), loader=loader)


def request(text: str = "hi", **kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("Be brief.", text, **kw)


def answers(n: int) -> list[dict[str, Any]]:
    return [chat_completion(f'{{"n": {i}}}') for i in range(n)]


def said(call: dict[str, Any]) -> str:
    """The user's words in a recorded call (Gemma's turn opens with the system prompt)."""
    return str(call["messages"][-1]["content"]).rsplit("\n", 1)[-1]


async def wait_for(event: threading.Event) -> None:
    """Wait for a worker-thread event without blocking the loop."""
    assert await asyncio.to_thread(event.wait, 30)


async def test_nothing_is_loaded_until_the_first_call(gguf: Path) -> None:
    loader = FakeLoader(*answers(2))
    provider = provider_for(gguf, loader)
    assert await provider.is_available()
    assert provider.describe()["loaded"] is False
    assert loader.loads == []
    await provider.complete(request())
    await provider.complete(request())
    assert len(loader.loads) == 1
    assert provider.describe()["loaded"] is True
    assert provider.describe()["chat_format"] == "gemma"


async def test_concurrent_first_calls_and_equal_providers_share_one_load(gguf: Path) -> None:
    loader = FakeLoader(*answers(4))
    first, second = provider_for(gguf, loader), provider_for(gguf, loader)
    await asyncio.gather(first.complete(request()), first.complete(request()),
                         second.complete(request()))
    assert len(loader.loads) == 1
    assert first.runtime is second.runtime
    # Different load settings are a different model.
    await provider_for(gguf, loader, n_ctx=2048).complete(request())
    assert [spec.n_ctx for _path, spec in loader.loads] == [8192, 2048]


async def test_load_reports_its_time_once(gguf: Path) -> None:
    loader = FakeLoader()
    provider = provider_for(gguf, loader)
    assert await provider.load() >= 0
    assert provider.runtime.load_seconds is not None
    assert await provider.load() == 0.0  # already loaded
    assert len(loader.loads) == 1


async def test_calls_never_overlap_and_never_run_on_the_event_loop(gguf: Path) -> None:
    loader = FakeLoader(*answers(6))
    provider = provider_for(gguf, loader)
    results = await asyncio.gather(*(provider.complete(request(str(i))) for i in range(6)))
    assert sorted(r.text for r in results) == sorted(f'{{"n": {i}}}' for i in range(6))
    model = loader.model
    assert model.max_active == 1
    assert set(model.threads) == {model.threads[0]}
    assert model.threads[0].startswith("aexy-llamacpp")
    assert model.threads[0] != threading.current_thread().name


async def test_the_event_loop_runs_while_the_model_generates(gguf: Path) -> None:
    loader = FakeLoader(*answers(1))
    provider = provider_for(gguf, loader)
    await provider.load()
    loader.model.gate = threading.Event()
    call = asyncio.create_task(provider.complete(request()))
    await wait_for(loader.model.started)
    # The generation is held open on the worker; other coroutines still run.
    ticks = 0
    for _ in range(5):
        await asyncio.sleep(0)
        ticks += 1
    assert ticks == 5 and not call.done()
    loader.model.gate.set()
    assert (await call).text == '{"n": 0}'


async def test_a_caller_cancelled_mid_generation_leaves_the_model_usable(gguf: Path) -> None:
    loader = FakeLoader(chat_completion('{"who": "cancelled"}'),
                        chat_completion('{"who": "next"}'))
    provider = provider_for(gguf, loader)
    await provider.load()
    model = loader.model
    model.gate = threading.Event()
    doomed = asyncio.create_task(provider.complete(request("first")))
    await wait_for(model.started)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    # The generation was not interrupted: the next call waits for it, then gets its own answer.
    following = asyncio.create_task(provider.complete(request("second")))
    model.gate.set()
    assert (await following).text == '{"who": "next"}'
    assert [said(c) for c in model.calls] == ["first", "second"]
    assert model.max_active == 1


async def test_a_caller_cancelled_while_queued_never_reaches_the_model(gguf: Path) -> None:
    loader = FakeLoader(chat_completion('{"n": "running"}'), chat_completion('{"n": "last"}'))
    provider = provider_for(gguf, loader)
    await provider.load()
    model = loader.model
    model.gate = threading.Event()
    running = asyncio.create_task(provider.complete(request("running")))
    await wait_for(model.started)
    queued = asyncio.create_task(provider.complete(request("queued")))
    await asyncio.sleep(0)  # let it submit its call to the worker
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    model.gate.set()
    assert (await running).text == '{"n": "running"}'
    assert (await provider.complete(request("last"))).text == '{"n": "last"}'
    assert [said(c) for c in model.calls] == ["running", "last"]


async def test_a_call_past_its_timeout_is_a_typed_timeout(gguf: Path) -> None:
    loader = FakeLoader(*answers(2))
    provider = provider_for(gguf, loader)
    await provider.load()
    loader.model.gate = threading.Event()  # held closed: the call cannot finish in time
    with pytest.raises(LLMError) as info:
        await provider.complete(request(timeout=0.01))
    loader.model.gate.set()
    assert info.value.code is ErrorCode.TIMEOUT
    assert not info.value.retryable  # the same CPU will not be faster on a second try
    assert "LLAMACPP_MAX_TOKENS" in info.value.message


async def test_released_models_are_closed_and_load_again_on_demand(gguf: Path) -> None:
    loader = FakeLoader(*answers(2))
    provider = provider_for(gguf, loader)
    await provider.complete(request())
    first = loader.models[0]
    assert release_models() == 1
    assert first.closed
    await provider.complete(request())
    assert len(loader.loads) == 2 and not loader.models[1].closed
