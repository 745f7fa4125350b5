"""``LlamaCppProvider``: one chat completion from a GGUF model run in-process by llama.cpp.

Transport only (see ``aexy.providers.base``): the core owns prompts, parsing, validation,
repair, retries and caching. What lives here:

- the request as llama-cpp-python's ``create_chat_completion`` takes it, with the result's JSON
  schema compiled by llama.cpp into a grammar (``response_format={"type": "json_object",
  "schema": ...}``). The grammar keeps ``maxItems``/``maxLength`` but not numeric bounds, and
  lists the result model leaves unbounded get ``LLAMACPP_MAX_ITEMS``;
- the system prompt where the chat format can carry it (Gemma's has no system turn);
- an answer made valid JSON where llama-cpp-python's grammar let a raw control character (a
  newline) into a string, which JSON forbids;
- llama.cpp's answer and failures as a :class:`~aexy.completion.Completion` or an
  :class:`~aexy.errors.LLMError` with a core code.

Loading, the lock and the worker thread live in :mod:`aexy_llamacpp.runtime`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from aexy.plugin_api import (
    BaseLLMProvider,
    Completion,
    CompletionRequest,
    ErrorCode,
    FinishReason,
    LLMError,
    PriceRef,
    ProviderSettings,
    RateLimits,
    TokenCount,
    Usage,
    cap_array_items,
)
from aexy_llamacpp.model_file import ModelFileError, model_label, model_located
from aexy_llamacpp.runtime import (
    ChatModel,
    LoadedModel,
    Loader,
    LoadSpec,
    ModelLoadError,
    RuntimeMissingError,
    load_llama,
    loaded_model,
)
from aexy_llamacpp.settings import LlamaCppSettings

__all__ = ["LlamaCppProvider", "chat_messages"]

_FINISH: Final = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}
#: Tokens a chat template adds around one message (role markers, separators: ChatML's
#: ``<|im_start|>user\n`` and ``<|im_end|>\n``), for a token count before a call.
TEMPLATE_TOKENS_PER_MESSAGE: Final = 5
# llama-cpp-python: "Requested tokens (5000) exceed context window of 4096"
_CONTEXT_OVERFLOW: Final = re.compile(r"exceed context window", re.IGNORECASE)


def chat_messages(request: CompletionRequest, system_in_user: bool) -> list[dict[str, str]]:
    """The request's turns as chat messages; the system prompt becomes a system message, or
    opens the first user turn for chat formats that have no system role."""
    turns = [{"role": m.role, "content": m.content} for m in request.messages]
    if not request.system:
        return turns
    if not system_in_user:
        return [{"role": "system", "content": request.system}, *turns]
    if turns and turns[0]["role"] == "user":
        return [{"role": "user", "content": f"{request.system}\n\n{turns[0]['content']}"},
                *turns[1:]]
    return [{"role": "user", "content": request.system}, *turns]


class LlamaCppProvider(BaseLLMProvider):
    """A GGUF model run in this process by llama.cpp; nothing leaves the machine.

    :param settings: :class:`LlamaCppSettings`; read from the environment when omitted.
    :param model: overrides ``LLAMACPP_MODEL``, the name results carry (the file is
        ``LLAMACPP_MODEL_PATH``).
    :param loader: builds the model from a GGUF path (tests pass a fake ``Llama``);
        ``llama_cpp.Llama`` by default.
    """

    name: ClassVar[str] = "llamacpp"
    settings_class: ClassVar[type[ProviderSettings]] = LlamaCppSettings
    default_limits: ClassVar[RateLimits] = RateLimits()  # in-process: no quota
    enforces_schema: ClassVar[bool] = True

    settings: LlamaCppSettings

    def __init__(self, settings: LlamaCppSettings | None = None, *, model: str | None = None,
                 loader: Loader | None = None) -> None:
        super().__init__(settings, model=model)
        if not isinstance(self.settings, LlamaCppSettings):
            raise TypeError(
                f"LlamaCppProvider needs LlamaCppSettings, got {type(self.settings).__name__}")
        self._loader: Loader = loader if loader is not None else load_llama
        self._label = model_label(self.settings)

    @property
    def model(self) -> str:
        return self._model_override or self._label

    @property
    def runtime(self) -> LoadedModel:
        """The process-wide model these settings load (shared with equal providers)."""
        return loaded_model(LoadSpec.of(self.settings), self._loader)

    # -- calls -----------------------------------------------------------------------------
    def build_call(self, request: CompletionRequest, system_in_user: bool) -> dict[str, Any]:
        """The keyword arguments of ``Llama.create_chat_completion`` for ``request``."""
        s = self.settings
        call: dict[str, Any] = {
            "messages": chat_messages(request, system_in_user),
            "temperature": request.temperature,
            "max_tokens": min(request.max_tokens, s.max_tokens),
            "stream": False,
        }
        if request.json_schema is not None:
            schema = (cap_array_items(request.json_schema, s.max_items) if s.max_items
                      else dict(request.json_schema))
            call["response_format"] = {"type": "json_object", "schema": schema}
        return call

    async def load(self) -> float:
        """Load the model now instead of on the first call; returns the seconds the load took
        (0 when it was already loaded)."""
        runtime = self.runtime
        was_loaded = runtime.loaded
        try:
            await runtime.run(lambda _model, _rt: None)
        except Exception as exc:
            raise self._error(exc) from None
        return 0.0 if was_loaded else runtime.load_seconds or 0.0

    async def complete(self, request: CompletionRequest) -> Completion:
        def generate(model: ChatModel, runtime: LoadedModel) -> Any:
            return model.create_chat_completion(**self.build_call(request, runtime.system_in_user))

        limit = self.settings.timeout
        if request.timeout is not None and 0 < request.timeout < limit:
            limit = request.timeout
        try:
            async with asyncio.timeout(limit if math.isfinite(limit) else None):
                answer = await self.runtime.run(generate)
        except TimeoutError:
            raise LLMError(
                f"no answer within {limit:.3g}s; a CPU model is slow: lower LLAMACPP_MAX_TOKENS, "
                "raise LLAMACPP_TIMEOUT and AEXY_DEADLINE_SECONDS, or use a smaller model",
                code=ErrorCode.TIMEOUT, provider=self.name, model=self.model,
                # The same model on the same CPU will not be faster on a second try.
                retryable=False,
            ) from None
        except Exception as exc:
            raise self._error(exc) from None
        return self._parse(answer)

    async def count_tokens(self, request: CompletionRequest) -> TokenCount:
        """The input tokens of ``request`` by the model's own tokenizer (the model is loaded
        for it, in this process; nothing is generated). Each message is tokenized as the chat
        format sends it; the few tokens the chat template adds around each message are
        estimated (:data:`TEMPLATE_TOKENS_PER_MESSAGE`).

        :raises LLMError: the model could not be loaded (the core then estimates).
        """
        def tokenize(model: ChatModel, runtime: LoadedModel) -> int:
            messages = chat_messages(request, runtime.system_in_user)
            content = sum(len(model.tokenize(m["content"].encode("utf-8"), add_bos=False,
                                             special=False)) for m in messages)
            return content + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) + 1  # + BOS

        try:
            tokens = await self.runtime.run(tokenize)
        except Exception as exc:
            raise self._error(exc) from None
        return TokenCount(tokens, estimated=False,
                          method="llama.cpp tokenizer (chat template framing estimated)")

    def price_ref(self) -> PriceRef:
        """The model runs in this process: its calls cost nothing."""
        return PriceRef(local=True)

    def max_output_tokens(self, request: CompletionRequest) -> int:
        return min(request.max_tokens, self.settings.max_tokens)

    def _parse(self, answer: Any) -> Completion:
        try:
            choice = answer["choices"][0]
            text = choice["message"]["content"]
            usage = answer.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMError(
                f"llama-cpp-python answered without a chat completion: {str(answer)[:200]!r}",
                code=ErrorCode.SERVER_ERROR, provider=self.name, model=self.model,
                retryable=False,
            ) from None
        raw_finish = choice.get("finish_reason")
        return Completion(
            text=_strict_json(text) if isinstance(text, str) else "",
            model=self.model,
            usage=Usage(input_tokens=_int(usage.get("prompt_tokens")),
                        output_tokens=_int(usage.get("completion_tokens"))),
            finish_reason=_FINISH.get(str(raw_finish), FinishReason.OTHER),
            raw_finish_reason=None if raw_finish is None else str(raw_finish),
            request_id=str(answer["id"]) if answer.get("id") else None,
        )

    def _error(self, exc: Exception) -> LLMError:
        """An exception from loading or generation as an :class:`LLMError`. None of these is
        retryable: the same call on the same model fails the same way."""
        code, message = ErrorCode.SERVER_ERROR, f"llama.cpp failed: {type(exc).__name__}: {exc}"
        if isinstance(exc, ModelFileError):
            code, message = ErrorCode.NOT_FOUND, str(exc)
        elif isinstance(exc, RuntimeMissingError):
            code, message = ErrorCode.NOT_FOUND, (
                f"llama-cpp-python is not installed ({exc}); `pip install aexy-llamacpp` "
                "builds it (see docs/providers/llamacpp.md for the build flags)")
        elif isinstance(exc, ModelLoadError):
            code, message = ErrorCode.NOT_FOUND, (
                f"llama.cpp could not load {str(exc.path)!r} ({exc}); set LLAMACPP_MODEL_PATH "
                "to a GGUF file this llama-cpp-python can read")
        elif isinstance(exc, ValueError) and _CONTEXT_OVERFLOW.search(str(exc)):
            code, message = ErrorCode.CONTEXT_LENGTH_EXCEEDED, (
                f"the prompt does not fit the context window ({exc}); raise LLAMACPP_N_CTX "
                f"(now {self.settings.n_ctx}) or send less content")
        return LLMError(message, code=code, provider=self.name, model=self.model,
                        retryable=False)

    # -- availability and description ------------------------------------------------------
    async def is_available(self) -> bool:
        """The model is loaded, or llama-cpp-python and a model file are there to load. Loads,
        assembles and hashes nothing; never raises."""
        try:
            if self.runtime.loaded:
                return True
            if self._loader is load_llama and not _llama_cpp_installed():
                return False
            return model_located(self.settings.model_path)
        except Exception:  # availability is a yes/no question
            return False

    def describe(self) -> Mapping[str, Any]:
        s = self.settings
        runtime = self.runtime
        return {
            **super().describe(),
            "model_path": str(runtime.path or s.model_path or "") or None,
            "chat_format": runtime.chat_format or s.chat_format,
            "n_ctx": s.n_ctx,
            "n_threads": s.n_threads,
            "max_tokens": s.max_tokens,
            "loaded": runtime.loaded,
        }

    def __repr__(self) -> str:
        return f"LlamaCppProvider(model={self.model!r}, n_ctx={self.settings.n_ctx})"


def _llama_cpp_installed() -> bool:
    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except ValueError:  # sys.modules["llama_cpp"] is None: importing it is blocked
        return False


def _strict_json(text: str) -> str:
    """``text`` as strict JSON when its only fault is raw control characters inside strings.

    llama-cpp-python's schema-to-grammar (0.3.x) allows any character but ``"`` and ``\\`` in a
    string, so a model may write a literal newline there; strict parsers reject that. Anything
    else that does not parse is returned as it is, for the core to report.
    """
    try:
        json.loads(text)
    except ValueError:
        try:
            value = json.loads(text, strict=False)
        except ValueError:
            return text
        return json.dumps(value, ensure_ascii=False)
    return text


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
