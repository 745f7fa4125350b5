"""Running contenders over the cases through the gateway, live, recorded or replayed.

A :class:`Contender` is a provider, optionally a model and a prompt directory (an
``AEXY_PROMPTS_DIR`` of override templates: a prompt version to compare). Every answer goes
through the gateway as any call does (validation, repair, grounding, post-processing), with the
result cache off. ``record`` keeps each raw answer under a hash of the prompt that produced it;
``replay`` answers from such a record and calls no model at all, so CI re-scores a model's
answers without the model; a prompt that was not recorded is reported as ``not_recorded``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import ErrorCode, LLMError
from aexy.eval.dataset import Case
from aexy.eval.scoring import Report, score_cases
from aexy.providers.base import BaseLLMProvider, ProviderSettings, RateLimits

__all__ = ["ANALYSES", "Contender", "Recording", "run_eval"]

#: The analyses each kind of case is read with.
ANALYSES = {"code": ("skill_extraction", "code_quality"),
            "injection": ("skill_extraction", "code_quality"),
            "planted": ("skill_extraction", "code_quality"),
            "task": ("task_signals",), "activity": ("burnout_risk",)}


@dataclass(frozen=True, slots=True)
class Contender:
    provider: str
    model: str | None = None
    prompts: str | None = None  # a directory of prompt overrides

    @property
    def label(self) -> str:
        out = self.provider + (f"/{self.model}" if self.model else "")
        return out + (f" @{Path(self.prompts).name}" if self.prompts else "")

    @classmethod
    def parse(cls, text: str) -> Contender:
        """``provider[/model][@prompts-dir]``."""
        spec, _, prompts = text.partition("@")
        provider, _, model = spec.partition("/")
        return cls(provider.strip(), model.strip() or None, prompts.strip() or None)


def prompt_key(request: CompletionRequest) -> str:
    """The record's key of a request: its system prompt and messages."""
    material = json.dumps([request.system, [(m.role, m.content) for m in request.messages]],
                          ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:24]


class Recording:
    """Raw answers by prompt key, with the provider and model that gave them (a JSON file)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        #: prompt key -> the answer's text, or {"text", "finish_reason"} when it did not stop
        #: by itself (a cut answer replays as cut).
        self.answers: dict[str, str | dict[str, str]] = {}
        self.model = ""
        if path is not None and path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            self.answers, self.model = data["answers"], data.get("model", "")

    def save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps({"model": self.model, "answers": dict(
                sorted(self.answers.items()))}, indent=0, ensure_ascii=False) + "\n",
                encoding="utf-8")


class _ReplaySettings(ProviderSettings):
    model: str = "recorded"


class ReplayProvider(BaseLLMProvider):
    """Answers from a :class:`Recording`; calls nothing."""

    name: ClassVar[str] = "replay"
    settings_class: ClassVar[type[ProviderSettings]] = _ReplaySettings
    default_limits: ClassVar[RateLimits] = RateLimits()

    def __init__(self, recording: Recording) -> None:
        super().__init__(_ReplaySettings(), model=recording.model or "recorded")
        self.recording = recording

    async def complete(self, request: CompletionRequest) -> Completion:
        answer = self.recording.answers.get(prompt_key(request))
        if answer is None:
            raise LLMError("no recorded answer for this prompt (the prompt changed since the "
                           "recording; record again)", code=ErrorCode.NOT_FOUND,
                           provider=self.name, model=self.model, retryable=False)
        text, reason = (answer, "stop") if isinstance(answer, str) else (
            answer["text"], answer.get("finish_reason", "stop"))
        return Completion(text=text, model=self.model, usage=Usage(0, 0),
                          finish_reason=FinishReason(reason), raw_finish_reason=reason)


def _provider(contender: Contender, replay: Recording | None,
              record: Recording | None) -> BaseLLMProvider:
    if replay is not None:
        return ReplayProvider(replay)
    from aexy.plugins import get_plugin_host

    spec = get_plugin_host().providers().get(contender.provider)
    if spec is None:
        from aexy.errors import ProviderNotFoundError

        raise ProviderNotFoundError(contender.provider,
                                    get_plugin_host().providers().names())
    provider: BaseLLMProvider = spec.provider_class(model=contender.model)
    if record is not None:
        live = provider.complete
        record.model = provider.model

        async def complete(request: CompletionRequest) -> Completion:
            answer = await live(request)
            reason = answer.finish_reason.value
            record.answers[prompt_key(request)] = answer.text if reason == "stop" else {
                "text": answer.text, "finish_reason": reason}
            record.save()  # as it goes: a long run cut short keeps what it had
            return answer

        provider.complete = complete  # type: ignore[method-assign]
    return provider


async def run_eval(contender: Contender, cases: Iterable[Case], *, split: str = "dev",
                   concurrency: int = 1, replay: Recording | None = None,
                   record: Recording | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Report:
    """Every case's analyses by ``contender``, scored. Failures are counted per code (a
    refusal is ``unsupported``), never raised."""
    from aexy.cli._errors import error_code
    from aexy.gateway import LLMGateway
    from aexy.settings import AexySettings

    cases = list(cases)
    settings = AexySettings(llm_cache_enabled=False)
    if contender.prompts:
        settings = settings.model_copy(update={"prompts_dir": contender.prompts})
    answers: dict[str, dict[str, dict[str, Any] | str]] = {}
    dropped = 0
    started = time.monotonic()
    semaphore = asyncio.Semaphore(concurrency)
    async with LLMGateway(_provider(contender, replay, record), fallbacks=(), cache=False,
                          settings=settings) as gateway:

        async def one(case: Case, kind: str) -> None:
            nonlocal dropped
            context = {"file_path": case.path, "repository": case.origin["package"]} if (
                case.path) else {}
            async with semaphore:
                try:
                    result = await gateway.analyze(kind, case.content, context)
                except Exception as exc:  # scored as a failure of this answer
                    answers.setdefault(case.id, {})[kind] = error_code(exc)
                    return
            dropped += result.provenance.ungrounded_dropped
            answers.setdefault(case.id, {})[kind] = result.model_dump(mode="json")

        total = sum(len(ANALYSES.get(c.kind, ())) for c in cases)
        done = 0

        async def counted(case: Case, kind: str) -> None:
            nonlocal done
            await one(case, kind)
            done += 1
            if progress is not None:
                progress(done, total)

        await asyncio.gather(*(counted(c, k) for c in cases for k in ANALYSES.get(c.kind, ())))
    if record is not None:
        record.save()
    report = score_cases(contender.label, split, cases, answers)
    report.ungrounded_dropped = dropped
    report.seconds = time.monotonic() - started
    return report
