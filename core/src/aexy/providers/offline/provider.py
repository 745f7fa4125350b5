"""The ``offline`` provider: answers computed by documented heuristics, or a typed refusal.

It reads the validated request from ``CompletionRequest.analysis`` (never from the prompt),
runs the method registered for the analysis type, and answers with the catalogue's result
model as JSON. A type that needs writing or judgement, an input the method cannot read, or too
little data gives ``LLMError(code="unsupported")`` naming the providers that can answer. It
never answers with a placeholder. See ``docs/providers/offline.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, ClassVar, Literal

from pydantic_settings import SettingsConfigDict

from aexy.analysis import AnalysisRequest, AnalysisResult, provider_json_schema
from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import ErrorCode, LLMError
from aexy.providers.base import BaseLLMProvider, ProviderSettings, RateLimits
from aexy.providers.offline import code, profile, risk, task, team, trajectory
from aexy.providers.offline.common import Unsupported

__all__ = ["METHODS", "MODEL_NAME", "REFUSED", "OfflineProvider", "OfflineSettings"]

MODEL_NAME = "heuristic-v1"

Method = Callable[[AnalysisRequest], AnalysisResult]

#: Analysis type -> the method that computes its answer.
METHODS: Mapping[str, Method] = {
    "skill_extraction": code.skill_extraction,
    "code_quality": code.code_quality,
    "code_complexity": code.code_complexity,
    "developer_profile": profile.developer_profile,
    "growth_trajectory": trajectory.growth_trajectory,
    "burnout_risk": risk.burnout_risk,
    "attrition_risk": risk.attrition_risk,
    "performance_trajectory": trajectory.performance_trajectory,
    "team_health": team.team_health,
    "task_signals": task.task_signals,
    "task_matching": task.task_matching,
}

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


@cache
def _schema_of(model: type[AnalysisResult]) -> dict[str, Any]:
    return provider_json_schema(model)


class OfflineProvider(BaseLLMProvider):
    """Documented heuristics behind the provider interface; no network, key or model."""

    name: ClassVar[str] = "offline"
    settings_class: ClassVar[type[ProviderSettings]] = OfflineSettings
    default_limits: ClassVar[RateLimits] = RateLimits()
    enforces_schema: ClassVar[bool] = True  # answers are the result models themselves
    method: ClassVar[Literal["model", "heuristic"]] = "heuristic"
    estimates_usage: ClassVar[bool] = True  # no tokenizer: characters / 4

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
        result = self._answer(analysis, request)
        text = result.model_dump_json()
        return Completion(
            text=text,
            model=MODEL_NAME,
            # Estimates (see estimates_usage): the gateway's statistics and limits still work.
            usage=Usage(input_tokens=max(1, request.prompt_chars // 4),
                        output_tokens=max(1, len(text) // 4)),
            finish_reason=FinishReason.STOP,
            raw_finish_reason="stop",
        )

    def _answer(self, analysis: AnalysisRequest, request: CompletionRequest) -> AnalysisResult:
        kind = analysis.analysis_type
        method = METHODS.get(kind)
        try:
            if method is None:
                raise Unsupported(REFUSED.get(
                    kind, f"the offline provider has no method for the analysis type {kind!r}"))
            result = method(analysis)
        except Unsupported as exc:
            raise LLMError(f"{kind} cannot be answered offline: {exc.reason}; "
                           f"{model_provider_hint()}", code=ErrorCode.UNSUPPORTED,
                           provider=self.name, model=MODEL_NAME, retryable=False) from None
        if request.json_schema is not None and dict(request.json_schema) != _schema_of(
                type(result)):
            # A plugin re-registered the type with another result model: ours would not fit.
            raise LLMError(
                f"{kind} cannot be answered offline: the request asks for a result schema other "
                f"than the built-in {type(result).__name__}, which is the only one the offline "
                f"methods produce; {model_provider_hint()}",
                code=ErrorCode.UNSUPPORTED, provider=self.name, model=MODEL_NAME,
                retryable=False)
        return result

    def describe(self) -> Mapping[str, Any]:
        return {**super().describe(), "network": False,
                "kind": "documented heuristics, no model",
                "computes": sorted(METHODS), "refuses": sorted(REFUSED)}
