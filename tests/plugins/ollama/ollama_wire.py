"""Wire-shaped Ollama answers and a recording ``httpx.MockTransport`` (test helpers).

Bodies follow Ollama's documented ``/api/chat`` (``stream: false``) and ``/api/tags`` responses
(docs/api.md in ollama/ollama), field for field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from aexy.testing import ScriptedServer as ScriptedServer

Handler = Callable[[httpx.Request], httpx.Response]


def chat_body(
    content: str,
    *,
    model: str = "llama3.2",
    done_reason: str | None = "stop",
    prompt_eval_count: int = 412,
    eval_count: int = 96,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "created_at": "2024-12-06T00:46:58.265747Z",
        "message": {"role": "assistant", "content": content},
        "done_reason": done_reason,
        "done": True,
        "total_duration": 2254970291,
        "load_duration": 574751416,
        "prompt_eval_count": prompt_eval_count,
        "prompt_eval_duration": 1502000000,
        "eval_count": eval_count,
        "eval_duration": 175000000,
    }
    if done_reason is None:
        del body["done_reason"]  # servers before 0.3 did not send it
    return body


def tag(name: str, size: int = 2019393189) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2024-10-01T09:32:18.757212583-07:00",
        "size": size,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


def tags_body(*names: str) -> dict[str, Any]:
    return {"models": [tag(n) for n in names]}
