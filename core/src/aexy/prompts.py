"""Prompt records and the built-in prompt source.

A :class:`PromptSource` maps an analysis type to a :class:`PromptTemplate` (or ``None`` to pass);
the gateway asks the sources in order and renders the first template it gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aexy.analysis import AnalysisSpec

__all__ = [
    "BuiltinPromptSource",
    "Prompt",
    "PromptSource",
    "PromptTemplate",
    "builtin_prompt_sources",
]


@dataclass(frozen=True, slots=True)
class Prompt:
    """A rendered prompt: what the provider will see."""

    system: str
    user: str
    version: str
    source: str


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A system prompt and a user prompt builder, with the version that goes into the cache key."""

    system: str
    user: Callable[[str, Mapping[str, Any]], str]
    version: str

    def render(self, content: str, context: Mapping[str, Any], *, source: str) -> Prompt:
        return Prompt(self.system, self.user(content, context), self.version, source)


@dataclass(frozen=True, slots=True)
class PromptSource:
    """What ``register_prompt_sources`` returns.

    :param name: the source's name (``AEXY_PROMPT_SOURCES`` orders sources by it).
    :param get: ``get(spec) -> PromptTemplate | None``; ``None`` lets the next source answer.
    :param priority: lower is asked first; the built-in source is 1000 (asked last).
    """

    name: str
    get: Callable[[AnalysisSpec], PromptTemplate | None]
    priority: int = 100


def _builtin(spec: AnalysisSpec) -> PromptTemplate:
    return PromptTemplate(spec.system_prompt, spec.build_user_prompt, f"builtin-{spec.version}")


BuiltinPromptSource = PromptSource(name="builtin", get=_builtin, priority=1000)


def builtin_prompt_sources() -> list[PromptSource]:
    """The sources the core registers through its own plugin."""
    return [BuiltinPromptSource]
