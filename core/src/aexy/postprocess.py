"""Result post-processors: small, named transforms applied after validation, before caching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aexy.analysis import AnalysisRequest, AnalysisResult

__all__ = ["PostProcessor", "builtin_postprocessors"]


@dataclass(frozen=True, slots=True)
class PostProcessor:
    """What ``register_postprocessors`` returns.

    :param process: ``process(result, request) -> result``; return the same or a new result of
        the same model. It runs only when named in ``AEXY_POSTPROCESSORS``.
    """

    name: str
    process: Callable[[AnalysisResult, AnalysisRequest], AnalysisResult]
    description: str = ""


def builtin_postprocessors() -> list[PostProcessor]:
    """The post-processors the core registers through its own plugin."""
    return []
