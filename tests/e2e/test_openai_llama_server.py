"""aexy-openai against a real OpenAI-compatible server: llama-cpp-python's own
``python -m llama_cpp.server``, serving the packaged model on a loopback port."""

from __future__ import annotations

import json
import logging

import jsonschema
import pytest
from e2e_support import Server, free_port

from aexy import CompletionRequest, FinishReason
from aexy_openai import OpenAIProvider, OpenAISettings

SCHEMA = {
    "type": "object",
    "properties": {"colour": {"type": "string", "maxLength": 12}},
    "required": ["colour"],
}


async def test_is_available_asks_the_models_endpoint(llama_server: Server) -> None:
    up = OpenAIProvider(OpenAISettings(base_url=llama_server.base_url, model=llama_server.model))
    down = OpenAIProvider(OpenAISettings(base_url=f"http://127.0.0.1:{free_port()}/v1",
                                         model=llama_server.model))
    try:
        assert await up.is_available()
        assert not await down.is_available()
    finally:
        await up.aclose()
        await down.aclose()


async def test_json_schema_is_rejected_and_the_provider_steps_down(
        llama_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    OpenAIProvider.forget_learned_modes()
    provider = OpenAIProvider(OpenAISettings(base_url=llama_server.base_url,
                                             model=llama_server.model))
    assert provider.structured_mode() == "json_schema"
    request = CompletionRequest.simple(
        "Answer with JSON only.", "Name the colour of the sky.", SCHEMA, max_tokens=32)
    try:
        with caplog.at_level(logging.WARNING, logger="aexy.openai"):
            completion = await provider.complete(request)
        # llama_cpp.server knows response_format types "text" and "json_object" only.
        (step,) = [r for r in caplog.records if "stepping down" in r.getMessage()]
        assert (step.mode, step.next, step.remembered) == (  # type: ignore[attr-defined]
            "json_schema", "json_object_schema", True)
        assert provider.structured_mode() == "json_object_schema"  # remembered for this server

        # The schema went through as llama.cpp's grammar: the answer satisfies it.
        assert completion.finish_reason is FinishReason.STOP
        jsonschema.validate(json.loads(completion.text), SCHEMA)
        assert completion.model == llama_server.model
        assert completion.usage.input_tokens > 10
        assert 0 < completion.usage.output_tokens <= 32

        caplog.clear()
        again = await provider.complete(request)  # straight to the mode that works
        assert not [r for r in caplog.records if "stepping down" in r.getMessage()]
        assert again.usage.input_tokens == completion.usage.input_tokens
    finally:
        await provider.aclose()
        OpenAIProvider.forget_learned_modes()
