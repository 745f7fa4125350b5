"""Wire-shaped Messages API answers and a recording ``httpx2.MockTransport`` (test helpers).

Bodies and headers follow Anthropic's documented ``POST /v1/messages`` response, rate-limit
headers and error envelope, field for field: a message has ``id``/``type``/``role``/``model``/
``content``/``stop_reason``/``stop_sequence``/``usage``; its usage has ``input_tokens`` (the
tokens after the last cache breakpoint: not those read from or written to the prompt cache),
``cache_read_input_tokens``, ``cache_creation_input_tokens`` with its ``cache_creation``
breakdown by TTL, ``output_tokens`` and ``service_tier``; ``POST /v1/messages/count_tokens``
answers ``{"input_tokens": n}`` (the SDK's ``MessageTokensCount``); an error is
``{"type": "error", "error": {"type", "message"}, "request_id"}``; every response carries
``request-id``. (Checked against anthropic 2.17.0's ``types/usage.py``,
``types/cache_creation.py``, ``types/message_tokens_count.py`` and
``types/message_count_tokens_params.py``.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx2

from aexy.testing import ScriptedServer

Handler = Callable[[httpx2.Request], httpx2.Response]

KEY = "sk-ant-api03-TEST-cafebabe-0123456789abcdef-SECRET"
REQUEST_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"

RATE_HEADERS = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": "2026-10-30T12:00:01Z",
    "anthropic-ratelimit-tokens-limit": "100000",
    "anthropic-ratelimit-tokens-remaining": "97905",
    "anthropic-ratelimit-tokens-reset": "2026-10-30T12:00:01Z",
    "anthropic-ratelimit-input-tokens-limit": "80000",
    "anthropic-ratelimit-input-tokens-remaining": "77905",
    "anthropic-ratelimit-input-tokens-reset": "2026-10-30T12:00:01Z",
    "anthropic-ratelimit-output-tokens-limit": "20000",
    "anthropic-ratelimit-output-tokens-remaining": "20000",
    "anthropic-ratelimit-output-tokens-reset": "2026-10-30T12:00:01Z",
}


def message_body(
    text: str,
    *,
    model: str = "claude-sonnet-5-5",
    stop_reason: str | None = "end_turn",
    input_tokens: int = 2095,
    output_tokens: int = 503,
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
    thinking: bool = False,
    content: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A non-streaming Messages API response whose answer is the text block ``text``."""
    blocks: list[dict[str, Any]] = []
    if thinking:  # adaptive thinking on current models; display "omitted" leaves it empty
        blocks.append({"type": "thinking", "thinking": "", "signature": "EqQBCkgIARABGAIiQL"})
    blocks += list(content) if content is not None else [{"type": "text", "text": text}]
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cache_creation_input_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": cache_creation_input_tokens,
                               "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
        },
    }


def counted(input_tokens: int) -> httpx2.Response:
    """The answer of ``POST /v1/messages/count_tokens``."""
    return httpx2.Response(200, json={"input_tokens": input_tokens},
                           headers={"request-id": REQUEST_ID})


def ok(text: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx2.Response:
    return httpx2.Response(
        200,
        json=message_body(text, **kw),
        headers={"request-id": REQUEST_ID, **RATE_HEADERS, **(headers or {})},
    )


def error(
    status: int, error_type: str, message: str, *, headers: dict[str, str] | None = None
) -> httpx2.Response:
    body = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": REQUEST_ID,
    }
    return httpx2.Response(
        status, json=body, headers={"request-id": REQUEST_ID, **(headers or {})}
    )


def server(*replies: httpx2.Response | Exception | Handler, **kw: Any) -> ScriptedServer:
    """The one scripted server, speaking the SDK's HTTP library (httpx2)."""
    return ScriptedServer(*replies, library="httpx2", **kw)
