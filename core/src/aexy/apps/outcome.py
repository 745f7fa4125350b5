"""What the analyzers share: the outcome of one analysis (a result or a typed failure, never a
placeholder), the summed cost of many analyses, and running one analysis under a bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aexy.analysis import AnalysisResult, Provenance
from aexy.errors import (
    ConfigurationError,
    ErrorCode,
    InvalidInputError,
    LLMError,
    LLMUnavailableError,
)

if TYPE_CHECKING:
    from aexy.batching import BatchItem
    from aexy.gateway import LLMGateway

__all__ = ["Cost", "Failure", "Outcome", "outcome_of", "outcome_type", "run_analysis"]

R = TypeVar("R", bound=AnalysisResult)

#: Errors that belong to one analysis (its input, or what the providers said about it); they
#: become a :class:`Failure` of that analysis. Anything else (a configuration error, a closed
#: gateway) concerns every analysis and is raised.
_PER_ANALYSIS = (LLMError, LLMUnavailableError, InvalidInputError)


class Failure(BaseModel):
    """Why an analysis has no result: ``code`` is the error code (``unsupported`` when the
    provider refused the input, e.g. the offline provider without the data a method needs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str
    #: ``provider/model`` that answered with the error, when one did.
    provider: str | None = None

    @property
    def refused(self) -> bool:
        """The provider declined this input (``unsupported``); nothing broke."""
        return self.code == ErrorCode.UNSUPPORTED.value

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        if isinstance(exc, LLMError):
            where = "/".join(p for p in (exc.provider, exc.model) if p)
            return cls(code=exc.code.value, message=exc.message, provider=where or None)
        if isinstance(exc, LLMUnavailableError):
            last = exc.attempts[-1] if exc.attempts else None
            detail = "; ".join(f"{a.provider}/{a.model}: [{a.code}] {a.message}"
                               for a in exc.attempts)
            return cls(code=exc.last_code or "unavailable",
                       message=str(exc).splitlines()[0] + (f" ({detail})" if detail else ""),
                       provider=f"{last.provider}/{last.model}" if last else None)
        return cls(code="invalid_input", message=str(exc))


class Outcome(BaseModel, Generic[R]):
    """One analysis: its ``result`` (with ``provenance``), or its ``failure``; exactly one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    analysis_type: str
    result: R | None = None
    failure: Failure | None = None
    provenance: Provenance | None = Field(None, description="where the result came from")

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.result is None) == (self.failure is None):
            raise ValueError("an outcome has either a result or a failure")
        return self

    @property
    def ok(self) -> bool:
        return self.result is not None


class Cost(BaseModel):
    """Provenance summed over analyses: what a report cost and where it came from.

    A cache hit and a coalesced call made no provider call and spent no tokens, so
    ``provider_calls`` and the tokens count only work done for this report. A failed analysis
    has no provenance: it is counted in ``failed``, and the calls it made are not in the sums
    (``LLMGateway.stats()`` counts every call).
    """

    model_config = ConfigDict(extra="forbid")

    analyses: int = 0
    failed: int = 0
    provider_calls: int = 0
    cache_hits: int = 0
    coalesced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False
    #: Sum of the analyses' latencies; with concurrency, more than the time that passed.
    latency_ms: float = 0.0
    #: ``provider/model`` of every answer, and how each was made (model or heuristic).
    answered_by: dict[str, int] = Field(default_factory=dict)
    methods: list[str] = Field(default_factory=list)

    def add(self, outcome: Outcome[Any] | Provenance | None, *, failed: bool = False) -> None:
        p = outcome.provenance if isinstance(outcome, Outcome) else outcome
        if isinstance(outcome, Outcome) and not outcome.ok:
            failed = True
        self.analyses += 1
        self.failed += int(failed)
        if p is None:
            return
        self.provider_calls += p.attempts
        self.cache_hits += int(p.cache_hit)
        self.coalesced += int(p.coalesced)
        self.input_tokens += p.input_tokens
        self.output_tokens += p.output_tokens
        self.tokens_estimated = self.tokens_estimated or p.tokens_estimated
        self.latency_ms = round(self.latency_ms + p.latency_ms, 3)
        label = f"{p.provider}/{p.model}"
        self.answered_by[label] = self.answered_by.get(label, 0) + 1
        if p.method not in self.methods:
            self.methods.append(p.method)

    def merge(self, other: Cost) -> None:
        self.analyses += other.analyses
        self.failed += other.failed
        self.provider_calls += other.provider_calls
        self.cache_hits += other.cache_hits
        self.coalesced += other.coalesced
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.tokens_estimated = self.tokens_estimated or other.tokens_estimated
        self.latency_ms = round(self.latency_ms + other.latency_ms, 3)
        for label, count in other.answered_by.items():
            self.answered_by[label] = self.answered_by.get(label, 0) + count
        self.methods += [m for m in other.methods if m not in self.methods]

    @classmethod
    def total(cls, costs: Iterable[Cost]) -> Cost:
        out = cls()
        for c in costs:
            out.merge(c)
        return out


#: ``Outcome[model]`` per result model, built once: pydantic keeps parametrised generics only
#: weakly, and rebuilding one costs milliseconds per analysis.
_OUTCOME_TYPES: dict[type[AnalysisResult], type[Outcome[Any]]] = {}


def outcome_type(model: type[R]) -> type[Outcome[R]]:
    """``Outcome[model]``, created once per model."""
    found = _OUTCOME_TYPES.get(model)
    if found is None:
        found = _OUTCOME_TYPES[model] = Outcome[model]  # type: ignore[valid-type]
    return found


async def run_analysis(gateway: LLMGateway, result_model: type[R], analysis_type: str,
                       content: str, context: Mapping[str, Any] | None, *,
                       limit: asyncio.Semaphore, use_cache: bool, cost: Cost) -> Outcome[R]:
    """One analysis through the gateway, at most ``limit`` at a time; a failure of this
    analysis becomes the outcome's :class:`Failure` (and is counted in ``cost``)."""
    async with limit:
        try:
            result = await gateway.analyze(analysis_type, content, context, use_cache=use_cache)
        except _PER_ANALYSIS as exc:
            return outcome_of(result_model, analysis_type, exc, cost)
    return outcome_of(result_model, analysis_type, result, cost)


def outcome_of(result_model: type[R], analysis_type: str,
               answer: AnalysisResult | BaseException | BatchItem, cost: Cost) -> Outcome[R]:
    """The outcome of one analysis's answer, a result or the error of this analysis (or a
    :class:`~aexy.batching.BatchItem` holding either), counted in ``cost``. An error that
    concerns every analysis is raised."""
    if not isinstance(answer, AnalysisResult | BaseException):  # a BatchItem
        answer = answer.error if answer.error is not None else answer.unwrap()
    if isinstance(answer, BaseException):
        if not isinstance(answer, _PER_ANALYSIS):
            raise answer
        outcome: Outcome[R] = outcome_type(result_model)(
            analysis_type=analysis_type, failure=Failure.of(answer))
        cost.add(outcome)
        return outcome
    if not isinstance(answer, result_model):
        raise ConfigurationError(f"{analysis_type} gave {type(answer).__name__}, not "
                        f"{result_model.__name__}: a plugin re-registered the type with "
                        "another result model; the analyzers need the built-in one")
    outcome = outcome_type(result_model)(
        analysis_type=analysis_type, result=answer, provenance=answer.provenance)
    cost.add(outcome)
    return outcome
