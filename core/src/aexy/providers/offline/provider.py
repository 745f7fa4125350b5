"""The ``offline`` provider: answers computed by documented heuristics, or a typed refusal.

It reads the validated request from ``CompletionRequest.analysis`` (never from the prompt),
runs the method registered for the analysis type, and answers with the catalogue's result
model as JSON. The work never runs on the event loop: an analysis runs in a thread while no
other is in flight, and while one is, the others go to a pool of worker processes
(``AEXY_OFFLINE_WORKERS`` of them: one per CPU under the ``aexy`` command, none by default in
a library caller's process), so ``aexy batch -j N`` uses the cores.
A type that needs writing or judgement, an input the method cannot read, or too little data
gives ``LLMError(code="unsupported")`` naming the providers that can answer. It
never answers with a placeholder. See ``docs/providers/offline.md``.

Importing this module imports no heuristic: each method's module is imported when its type is
first asked for (:data:`METHODS`), so listing the providers stays cheap.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from functools import cache
from importlib import import_module
from typing import Any, ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aexy.analysis import AnalysisRequest, AnalysisResult, provider_json_schema
from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import ErrorCode, LLMError
from aexy.log import logger
from aexy.providers.base import BaseLLMProvider, ProviderSettings, RateLimits
from aexy.providers.offline.common import Unsupported

__all__ = ["METHODS", "MODEL_NAME", "REFUSED", "OfflineProvider", "OfflineSettings"]

MODEL_NAME = "heuristic-v1"

Method = Callable[[AnalysisRequest], AnalysisResult]

#: Analysis type -> (module of this package, function) of the method that computes its answer.
_METHOD_PATHS: dict[str, tuple[str, str]] = {
    "skill_extraction": ("code", "skill_extraction"),
    "code_quality": ("code", "code_quality"),
    "code_complexity": ("code", "code_complexity"),
    "developer_profile": ("profile", "developer_profile"),
    "growth_trajectory": ("trajectory", "growth_trajectory"),
    "burnout_risk": ("risk", "burnout_risk"),
    "attrition_risk": ("risk", "attrition_risk"),
    "performance_trajectory": ("trajectory", "performance_trajectory"),
    "team_health": ("team", "team_health"),
    "task_signals": ("task", "task_signals"),
    "task_matching": ("task", "task_matching"),
}


class _Methods(Mapping[str, Method]):
    """The methods by analysis type, each imported (with its module) when first looked up."""

    def __init__(self) -> None:
        self._loaded: dict[str, Method] = {}

    def __getitem__(self, kind: str) -> Method:
        method = self._loaded.get(kind)
        if method is None:
            module, name = _METHOD_PATHS[kind]
            method = getattr(import_module(f"{__package__}.{module}"), name)
            self._loaded[kind] = method
        return method

    def __iter__(self) -> Iterator[str]:
        return iter(_METHOD_PATHS)

    def __len__(self) -> int:
        return len(_METHOD_PATHS)

    def __repr__(self) -> str:
        return f"<offline methods: {', '.join(_METHOD_PATHS)}>"


#: Analysis type -> the method that computes its answer (imported on first lookup).
METHODS: Mapping[str, Method] = _Methods()

#: Types that need writing or judging prose: refused, with the reason.
REFUSED: Mapping[str, str] = {
    "job_description": "writing a job description takes a language model",
    "interview_rubric": "writing interview questions and criteria takes a language model",
    "learning_path": "planning a learning path takes a language model",
    "soft_skills": "judging soft skills from prose takes a language model",
}

#: The model providers a refusal points to: name, distribution, what it is, and the variables
#: of which at least one must be set before it can answer (none: a local server).
MODEL_PROVIDERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("ollama", "aexy-ollama", "a local Ollama server", ()),
    ("claude", "aexy-claude", "Claude", ("ANTHROPIC_API_KEY",)),
    ("openai", "aexy-openai", "OpenAI and compatible servers",
     ("OPENAI_API_KEY", "OPENAI_BASE_URL")),
)


def model_provider_hint() -> str:
    """Where an answer can come from instead, as the refusal says it, fitted to this
    installation: ``pip install`` for a provider that is missing, the variable to set for one
    that is installed but not configured (only whether a variable is set is read)."""
    import os
    from importlib.metadata import PackageNotFoundError, version

    options = []
    for name, distribution, what, needs in MODEL_PROVIDERS:
        try:
            version(distribution)
        except PackageNotFoundError:
            options.append(f"{name}, {what} (pip install {distribution})")
            continue
        if needs and not any(os.environ.get(var) for var in needs):
            options.append(f"{name}, {what} (installed; set {' or '.join(needs)})")
        else:
            options.append(f"{name}, {what} (installed)")
    listed = "; ".join(options)
    return (f"a model provider can answer it: {listed}; select one with LLM_PROVIDER or "
            "--provider, and see `aexy providers --check`")


class OfflineSettings(ProviderSettings):
    """``AEXY_OFFLINE_*`` variables; a prefix, so that no bare ``MODEL`` or ``TIMEOUT`` variable
    of some other program is read."""

    model_config = SettingsConfigDict(env_prefix="AEXY_OFFLINE_")

    model: str = MODEL_NAME
    #: ``AEXY_OFFLINE_WORKERS``: worker processes (started on first need) that compute the
    #: analyses in flight while another one is; ``None``: one per CPU. An analysis with no
    #: other in flight runs in a thread of this process. The default is 1, no worker process:
    #: a worker imports the program's main script again, which runs a script that does not
    #: guard its entry point with ``if __name__ == "__main__":``. The ``aexy`` command, whose
    #: entry point is guarded, uses one per CPU.
    workers: int | None = Field(1, ge=1, le=256)


@cache
def _schema_of(model: type[AnalysisResult]) -> dict[str, Any]:
    return provider_json_schema(model)


#: Worker pools by size, shared by every offline provider of the process (the work is pure and
#: stateless) and started on first need; their processes end with the interpreter.
_POOLS: dict[int, Executor] = {}
#: Sizes whose pool broke (see :func:`_retire`).
_BROKEN: set[int] = set()


def _retire(pool: Executor) -> None:
    """A pool whose workers died is not used again: the analyses run in threads of this
    process from then on, and one warning says why."""
    for size, known in list(_POOLS.items()):
        if known is pool:
            del _POOLS[size]
            _BROKEN.add(size)
            logger.warning(
                "the offline provider's worker processes stopped; computing in this process "
                "from now on. A worker imports the main script again: guard its entry point "
                "with `if __name__ == \"__main__\":`, or leave AEXY_OFFLINE_WORKERS at 1")


def _shared_pool(size: int) -> Executor | None:
    if size < 2 or size in _BROKEN:
        return None
    pool = _POOLS.get(size)
    if pool is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Workers are started, not forked: forking a process that runs threads is unsafe.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
            else "spawn"
        pool = _POOLS[size] = ProcessPoolExecutor(
            size, mp_context=multiprocessing.get_context(method))
    return pool


def compute(kind: str, content: str, context_json: str
            ) -> tuple[str, type[AnalysisResult] | None, str | None]:
    """One analysis, in this process or a worker: ``(answer JSON, its result model, None)``, or
    ``("", None, why)`` when the offline methods cannot answer it. Only the text goes in and
    out (a worker gets and returns little to copy); the caller checks the result's schema."""
    analysis = AnalysisRequest(kind, content, json.loads(context_json), context_json)
    method = METHODS.get(kind)
    try:
        if method is None:
            raise Unsupported(REFUSED.get(
                kind, f"the offline provider has no method for the analysis type {kind!r}"))
        result = method(analysis)
    except Unsupported as exc:
        return "", None, f"{kind} cannot be answered offline: {exc.reason}"
    return result.model_dump_json(), type(result), None


class OfflineProvider(BaseLLMProvider):
    """Documented heuristics behind the provider interface; no network, key or model."""

    name: ClassVar[str] = "offline"
    settings_class: ClassVar[type[ProviderSettings]] = OfflineSettings
    default_limits: ClassVar[RateLimits] = RateLimits()
    enforces_schema: ClassVar[bool] = True  # answers are the result models themselves
    method: ClassVar[Literal["model", "heuristic"]] = "heuristic"
    estimates_usage: ClassVar[bool] = True  # no tokenizer: characters / 4

    _active: int = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        model = request.model or self.model
        if model != MODEL_NAME:
            raise LLMError(
                f"the offline provider has one model, {MODEL_NAME!r}; got {model!r} "
                "(drop --model, or unset AEXY_OFFLINE_MODEL)",
                code=ErrorCode.NOT_FOUND, provider=self.name, model=model, retryable=False,
            )
        analysis = request.analysis
        if analysis is None:
            raise LLMError(
                "the offline provider computes its answer from the analysis request, and this "
                "CompletionRequest has none: set CompletionRequest.analysis to an "
                "aexy.AnalysisRequest (LLMGateway.analyze does), or call the gateway",
                code=ErrorCode.BAD_REQUEST, provider=self.name, model=MODEL_NAME,
                retryable=False,
            )
        job = (analysis.analysis_type, analysis.content, analysis.context_json)
        pool = self._worker_pool() if self._active else None
        self._active += 1
        try:
            if pool is None:
                text, produced, refusal = await asyncio.to_thread(compute, *job)
            else:
                from concurrent.futures.process import BrokenProcessPool

                try:
                    text, produced, refusal = await asyncio.get_running_loop().run_in_executor(
                        pool, compute, *job)
                except BrokenProcessPool:
                    _retire(pool)
                    text, produced, refusal = await asyncio.to_thread(compute, *job)
        finally:
            self._active -= 1
        if produced is not None and request.json_schema is not None and dict(
                request.json_schema) != _schema_of(produced):
            # A plugin re-registered the type with another result model: ours would not fit.
            refusal = (f"{analysis.analysis_type} cannot be answered offline: the request asks "
                       f"for a result schema other than the built-in {produced.__name__}, which "
                       f"is the only one the offline methods produce")
        if refusal is not None:
            # The hint reads this installation, so it is added here, not in a worker.
            raise LLMError(f"{refusal}; {model_provider_hint()}", code=ErrorCode.UNSUPPORTED,
                           provider=self.name, model=MODEL_NAME, retryable=False)
        return Completion(
            text=text,
            model=MODEL_NAME,
            # Estimates (see estimates_usage): the gateway's statistics and limits still work.
            usage=Usage(input_tokens=max(1, request.prompt_chars // 4),
                        output_tokens=max(1, len(text) // 4)),
            finish_reason=FinishReason.STOP,
            raw_finish_reason="stop",
        )

    def _worker_pool(self) -> Executor | None:
        settings = self.settings
        assert isinstance(settings, OfflineSettings)
        return _shared_pool(settings.workers or os.cpu_count() or 1)

    def describe(self) -> Mapping[str, Any]:
        return {**super().describe(), "network": False,
                "kind": "documented heuristics, no model",
                "computes": sorted(METHODS), "refuses": sorted(REFUSED)}
