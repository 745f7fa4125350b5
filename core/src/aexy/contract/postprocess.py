"""The post-processor record, and the marker by which a result model opts its fields in to
skill-name normalisation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from aexy.contract.analysis import AnalysisRequest, AnalysisResult
    from aexy.settings import PluginSettings

__all__ = ["SKILL_NAMES", "PostProcessor"]


@dataclass(frozen=True, slots=True)
class PostProcessor:
    """What ``register_postprocessors`` returns.

    :param name: what ``AEXY_POSTPROCESSORS`` lists; post-processors run in that order and
        only when listed.
    :param process: ``process(result, request) -> result``, run after validation and before
        caching. It returns the same object or a new instance of the same result model
        (``result.model_copy(update=...)``): it may change values but never add fields or
        change the model, since the result is cached and read back with that model (the
        gateway rejects another type with a ``ConfigurationError`` naming the post-processor).
    :param description: one line for ``aexy plugins``.
    :param settings_class: the post-processor's own settings (a
        :class:`~aexy.settings.PluginSettings` subclass with its own ``env_prefix``), shown by
        ``aexy config``; ``process`` reads them itself. Added in plugin API 1.1.
    """

    name: str
    process: Callable[[AnalysisResult, AnalysisRequest], AnalysisResult]
    description: str = ""
    settings_class: type[PluginSettings] | None = None


class _SkillNamesMarker:
    """``Annotated`` metadata marking a ``str`` or ``list[str]`` field as skill names."""

    def __repr__(self) -> str:
        return "SKILL_NAMES"


SKILL_NAMES: Final = _SkillNamesMarker()
