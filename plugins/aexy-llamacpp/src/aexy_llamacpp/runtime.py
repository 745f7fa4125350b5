"""One loaded model per process, used by one worker thread at a time.

A llama.cpp context is not thread-safe and holds the key/value cache of the last prompt, so every
use goes through :meth:`LoadedModel.run`: one worker thread (the event loop never blocks on
inference) and a lock around the model. The model is loaded lazily, on that thread, by the first
call; every provider instance with the same load settings shares it.

A caller cancelled while its call waits in the queue is dropped before it touches the model; a
caller cancelled during generation leaves it to finish on the worker (bounded by its
``max_tokens``), so the context is never interrupted half-way, and the answer is discarded.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

from aexy_llamacpp.model_file import resolve_model_path
from aexy_llamacpp.settings import LlamaCppSettings

__all__ = [
    "ChatModel",
    "LoadSpec",
    "LoadedModel",
    "Loader",
    "ModelLoadError",
    "RuntimeMissingError",
    "load_llama",
    "loaded_model",
    "release_models",
]

logger = logging.getLogger("aexy.llamacpp")

T = TypeVar("T")


class ChatModel(Protocol):
    """The part of ``llama_cpp.Llama`` the provider uses: the transport boundary."""

    metadata: Mapping[str, str]
    chat_format: str | None

    def create_chat_completion(self, **kwargs: Any) -> Any:
        """A ``chat.completion`` dict, as OpenAI's API shapes it."""

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        """The model's token ids for ``text`` (UTF-8)."""

    def close(self) -> None:
        """Free the model and its context."""


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What decides which model is loaded and how: providers with equal specs share a model."""

    model_path: Path | None
    cache_dir: Path | None
    chat_format: str | None
    n_ctx: int
    n_threads: int | None
    n_gpu_layers: int

    @classmethod
    def of(cls, settings: LlamaCppSettings) -> LoadSpec:
        return cls(settings.model_path, settings.cache_dir, settings.chat_format,
                   settings.n_ctx, settings.n_threads, settings.n_gpu_layers)


#: Builds the model from a GGUF path; ``load_llama`` unless a test passes a fake.
Loader = Callable[[Path, LoadSpec], ChatModel]


class RuntimeMissingError(Exception):
    """llama-cpp-python is not importable."""


class _Abandoned(Exception):
    """The caller gave up before its call reached the model."""


class ModelLoadError(Exception):
    """llama.cpp could not load the file (not a GGUF, unknown architecture, out of memory)."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        self.path = path
        super().__init__(f"{type(cause).__name__}: {cause}")


def load_llama(path: Path, spec: LoadSpec) -> ChatModel:
    """``llama_cpp.Llama`` for ``path``, imported here so nothing else pays for it."""
    try:
        llama_cpp = importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise RuntimeMissingError(str(exc)) from None
    model: ChatModel = llama_cpp.Llama(
        model_path=str(path), n_ctx=spec.n_ctx, n_threads=spec.n_threads,
        n_gpu_layers=spec.n_gpu_layers, chat_format=spec.chat_format, verbose=False,
    )
    return model


# llama-cpp-python falls back to "llama-2" for a GGUF without a chat template, which is wrong
# for these families. Matched as a prefix of ``general.architecture`` (gemma, gemma2, gemma3).
_FORMAT_BY_ARCHITECTURE: Final = {"gemma": "gemma"}
#: Chat formats that drop system messages: the system prompt goes into the first user turn
#: instead, which is what Gemma's own chat template does.
SYSTEM_IN_USER_FORMATS: Final = frozenset({"gemma"})


class LoadedModel:
    """One model, its lock and its worker thread. Get it with :func:`loaded_model`."""

    def __init__(self, spec: LoadSpec, loader: Loader) -> None:
        self.spec = spec
        self._loader = loader
        self.lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aexy-llamacpp")
        self._model: ChatModel | None = None
        #: The GGUF file, once loaded.
        self.path: Path | None = None
        #: The chat format in use, once loaded.
        self.chat_format: str | None = None
        #: Seconds the load took (assembly of a packaged model included), once loaded.
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def system_in_user(self) -> bool:
        return self.chat_format in SYSTEM_IN_USER_FORMATS

    def _ensure_loaded(self) -> ChatModel:
        """The model, loaded on first use. Runs on the worker thread with the lock held."""
        if self._model is not None:
            return self._model
        started = time.perf_counter()
        path = resolve_model_path(self.spec.model_path, self.spec.cache_dir)
        try:
            model = self._loader(path, self.spec)
        except RuntimeMissingError:
            raise
        except Exception as exc:
            raise ModelLoadError(path, exc) from exc
        self.chat_format = self._chat_format(model)
        self.path = path
        self.load_seconds = time.perf_counter() - started
        self._model = model
        logger.info("model loaded", extra={
            "path": str(path), "chat_format": self.chat_format,
            "load_seconds": round(self.load_seconds, 3)})
        return model

    def _chat_format(self, model: ChatModel) -> str | None:
        if self.spec.chat_format is not None:
            return self.spec.chat_format
        metadata = model.metadata or {}
        if not any(k.startswith("tokenizer.chat_template") for k in metadata):
            arch = str(metadata.get("general.architecture", ""))
            for prefix, fmt in _FORMAT_BY_ARCHITECTURE.items():
                if arch.startswith(prefix):
                    model.chat_format = fmt
                    return fmt
            logger.warning(
                "the GGUF has no chat template; set LLAMACPP_CHAT_FORMAT if answers are poor",
                extra={"architecture": arch, "chat_format": model.chat_format})
        return model.chat_format

    async def run(self, work: Callable[[ChatModel, LoadedModel], T]) -> T:
        """``work(model, self)`` on the worker thread with the lock held, loading the model
        first if needed. Never blocks the event loop."""
        abandoned = threading.Event()

        def call() -> T:
            with self.lock:
                if abandoned.is_set():
                    raise _Abandoned
                return work(self._ensure_loaded(), self)

        future = self._executor.submit(call)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            # wrap_future cancels a queued call; one that started but still waits for the
            # lock sees the flag and leaves the model alone.
            abandoned.set()
            raise

    def run_sync(self, work: Callable[[ChatModel, LoadedModel], T]) -> T:
        """``work`` on the calling thread, under the same lock (benchmarks, scripts)."""
        with self.lock:
            return work(self._ensure_loaded(), self)

    def close(self) -> None:
        """Wait for the running call, then free the model and stop the worker."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            model, self._model = self._model, None
            if model is not None:
                model.close()


_models: dict[tuple[LoadSpec, Loader], LoadedModel] = {}
_models_lock = threading.Lock()


def loaded_model(spec: LoadSpec, loader: Loader = load_llama) -> LoadedModel:
    """The process-wide :class:`LoadedModel` for ``spec`` (created, not loaded, on first use)."""
    key = (spec, loader)
    with _models_lock:
        handle = _models.get(key)
        if handle is None:
            handle = _models[key] = LoadedModel(spec, loader)
        return handle


def release_models() -> int:
    """Free every model this process loaded (tests, benchmarks, long-lived processes that are
    done with local inference). Returns how many were loaded."""
    with _models_lock:
        handles = list(_models.values())
        _models.clear()
    count = sum(1 for h in handles if h.loaded)
    for handle in handles:
        handle.close()
    return count
