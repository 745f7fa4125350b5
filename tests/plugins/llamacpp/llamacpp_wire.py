"""A fake ``llama_cpp.Llama`` answering with dicts shaped exactly like llama-cpp-python's (test
helpers).

``Llama.create_chat_completion(stream=False)`` returns an OpenAI-style ``chat.completion``
(llama_cpp/llama_chat_format.py, ``_convert_completion_to_chat``): ``id``, ``object``,
``created``, ``model`` (the GGUF path), one choice with ``index``, ``message`` (``role``,
``content``), ``logprobs`` and ``finish_reason`` (``"stop"`` or ``"length"``), and ``usage``
(``prompt_tokens``, ``completion_tokens``, ``total_tokens``). The failures are the exceptions
llama-cpp-python raises, with its own messages.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aexy_llamacpp.runtime import LoadSpec

#: ``general.*`` metadata of the packaged Gemma 3 270M GGUF, which has no chat template.
GEMMA3_METADATA = {
    "general.architecture": "gemma3", "general.name": "Gemma 3 270m",
    "gemma3.context_length": "32768", "tokenizer.ggml.model": "llama",
}
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
)
QWEN2_METADATA = {
    "general.architecture": "qwen2", "general.name": "Qwen2.5 Coder 7B Instruct",
    "tokenizer.chat_template": CHATML_TEMPLATE,
}

_ids = itertools.count(1)


def chat_completion(content: str, *, finish_reason: str = "stop", prompt_tokens: int = 412,
                    completion_tokens: int = 96, model: str = "/models/m.gguf"
                    ) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{next(_ids):08d}-a671-4ece-bab8-fa777d865cf7",
        "object": "chat.completion",
        "created": 1796172275,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "logprobs": None,
            "finish_reason": finish_reason,
        }],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def context_overflow(prompt_tokens: int, n_ctx: int) -> ValueError:
    """What ``Llama.create_completion`` raises when the prompt does not fit."""
    return ValueError(f"Requested tokens ({prompt_tokens}) exceed context window of {n_ctx}")


Reply = Mapping[str, Any] | Exception | Callable[[dict[str, Any]], Mapping[str, Any]]


class FakeLlama:
    """Answers ``create_chat_completion`` from a script of replies, recording every call.

    ``gate``: when set, each call waits for it (tests hold a generation open with it);
    ``started`` is set as a call begins.
    """

    def __init__(self, path: Path, spec: LoadSpec, metadata: Mapping[str, str],
                 replies: list[Reply]) -> None:
        self.model_path = str(path)
        self.spec = spec
        self.metadata = dict(metadata)
        has_template = any(k.startswith("tokenizer.chat_template") for k in metadata)
        # What llama-cpp-python picks when no format is given: the GGUF's template, else llama-2.
        self.chat_format: str | None = spec.chat_format or (
            "chat_template.default" if has_template else "llama-2")
        self.replies = replies
        self.calls: list[dict[str, Any]] = []
        self.threads: list[str] = []
        self.active = 0
        self.max_active = 0
        self.closed = False
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.tokenized: list[bytes] = []
        self._lock = threading.Lock()

    def create_chat_completion(self, **kwargs: Any) -> Any:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls.append(kwargs)
            self.threads.append(threading.current_thread().name)
            reply = self.replies.pop(0) if self.replies else chat_completion('{"ok": true}')
        self.started.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(30), "the test never opened the gate"
            if isinstance(reply, Exception):
                raise reply
            return reply(kwargs) if callable(reply) else reply
        finally:
            with self._lock:
                self.active -= 1

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        """``Llama.tokenize``: token ids of UTF-8 ``text`` (here one per word or punctuation
        mark, a BOS id first when asked), recording what was tokenized."""
        self.tokenized.append(text)
        pieces = re.findall(rb"\w+|[^\w\s]", text)
        return ([1] if add_bos else []) + [100 + len(p) for p in pieces]

    def close(self) -> None:
        self.closed = True


class FakeLoader:
    """A ``Loader``: builds one :class:`FakeLlama` per load and records the loads."""

    def __init__(self, *replies: Reply, metadata: Mapping[str, str] = GEMMA3_METADATA,
                 fail: Exception | None = None) -> None:
        self.replies = list(replies)
        self.metadata = metadata
        self.fail = fail
        self.loads: list[tuple[Path, LoadSpec]] = []
        self.models: list[FakeLlama] = []

    def __call__(self, path: Path, spec: LoadSpec) -> FakeLlama:
        self.loads.append((path, spec))
        if self.fail is not None:
            raise self.fail
        model = FakeLlama(path, spec, self.metadata, self.replies)
        self.models.append(model)
        return model

    @property
    def model(self) -> FakeLlama:
        (model,) = self.models
        return model
