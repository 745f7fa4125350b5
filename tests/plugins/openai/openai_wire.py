"""Wire bodies as OpenAI, llama.cpp's server and vLLM send them, and a recording fake server
built on ``httpx.MockTransport``.

Shapes follow the real APIs: OpenAI's ``chat.completion`` object (with ``refusal``,
``logprobs``, usage details, ``system_fingerprint``) and error envelope ``{"error": {message,
type, param, code}}``; llama.cpp's completion (``timings``, no ``refusal``) and its
``{"error": {"code", "message", "type"}}`` with an integer code; vLLM's completion
(``stop_reason``, ``reasoning_content``) and its two error shapes (flat ``{"object": "error"}``
in older releases, nested in recent ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from aexy.testing import ScriptedServer as ScriptedServer

Handler = Callable[[httpx.Request], httpx.Response]


def openai_completion(content: str | None, *, finish_reason: str = "stop",
                      refusal: str | None = None, model: str = "gpt-4.1-mini-2025-04-14",
                      prompt_tokens: int = 120, completion_tokens: int = 40,
                      cached_tokens: int = 0) -> dict[str, Any]:
    """OpenAI's ``chat.completion``; ``cached_tokens`` of the ``prompt_tokens`` were read from
    its automatic prompt cache (``usage.prompt_tokens_details.cached_tokens``)."""
    return {
        "id": "chatcmpl-BqQ6pWvDzqJ4fVbXwR3uYf8y2aT1c",
        "object": "chat.completion",
        "created": 1751990000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal,
                        "annotations": []},
            "logprobs": None,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5",
    }


def llamacpp_completion(content: str, *, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "choices": [{"finish_reason": finish_reason, "index": 0,
                     "message": {"role": "assistant", "content": content}}],
        "created": 1751990000,
        "model": "qwen2.5-7b-instruct-q4_k_m.gguf",
        "system_fingerprint": "b5890-3f2a1c4",
        "object": "chat.completion",
        "usage": {"completion_tokens": 33, "prompt_tokens": 210, "total_tokens": 243},
        "id": "chatcmpl-Wq3fXgkJ2pZ0bTnS8hY1uE4rD6cV9mLa",
        "timings": {"prompt_n": 210, "prompt_ms": 95.1, "predicted_n": 33,
                    "predicted_ms": 410.7, "predicted_per_second": 80.35},
    }


def vllm_completion(content: str, *, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-8c1d0f1e7a0b4a2c9e3f5d6b7a8c9d0e",
        "object": "chat.completion",
        "created": 1751990000,
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "reasoning_content": None, "content": content,
                        "tool_calls": []},
            "logprobs": None,
            "finish_reason": finish_reason,
            "stop_reason": None,
        }],
        "usage": {"prompt_tokens": 180, "total_tokens": 230, "completion_tokens": 50,
                  "prompt_tokens_details": None},
        "prompt_logprobs": None,
    }


def openai_error(message: str, *, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


#: llama.cpp's answer (HTTP 500) when it does not know ``response_format: json_schema``.
LLAMACPP_NO_JSON_SCHEMA = {"error": {"code": 500,
                                     "message": "Input should be 'text' or 'json_object'",
                                     "type": "server_error"}}
LLAMACPP_CONTEXT = {"error": {
    "code": 400, "type": "exceed_context_size_error",
    "message": "request (9412 tokens) exceeds the available context size (8192 tokens), "
               "try increasing it",
    "n_prompt_tokens": 9412, "n_ctx": 8192}}


def vllm_flat_error(message: str, code: int = 400,
                    type_: str = "BadRequestError") -> dict[str, Any]:
    return {"object": "error", "message": message, "type": type_, "param": None, "code": code}


def vllm_nested_error(message: str, code: int = 400,
                      type_: str = "BadRequestError") -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


OPENAI_HEADERS = {"x-request-id": "req_7b0f3a1c2d4e5f60718293a4b5c6d7e8",
                  "openai-processing-ms": "812", "openai-version": "2020-10-01"}


def ok(body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers or {})


def fail(status: int, body: dict[str, Any] | str,
         headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers or {})
    return httpx.Response(status, json=body, headers=headers or {})
