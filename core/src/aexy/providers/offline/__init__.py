"""The built-in ``offline`` provider and its heuristics, one module per family of types.

=============  ==================================================================
module         holds
=============  ==================================================================
``provider``   :class:`OfflineProvider`: reads ``CompletionRequest.analysis``, runs a method
               or refuses (``unsupported``)
``code``       skill_extraction, code_quality, code_complexity (static analysis)
``structure``  functions, branch points and block depth of code (Python's parser, or text)
``activity``   reading :class:`aexy.catalogue.activity.DeveloperActivity`; shared figures
``risk``       burnout_risk, attrition_risk (weighted factors)
``trajectory`` growth_trajectory, performance_trajectory (trends over the periods)
``profile``    developer_profile (stated figures, exposure levels)
``team``       team_health (from :class:`aexy.catalogue.activity.TeamMetrics`)
``task``       task_signals, task_matching (a skills lexicon over the task text)
``lexicon``    the names the heuristics recognise
``common``     the refusal, bounded arithmetic, trends and wording
=============  ==================================================================

The methods and their thresholds are documented in ``docs/providers/offline.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aexy.providers.offline.provider import MODEL_NAME, OfflineProvider, OfflineSettings

if TYPE_CHECKING:
    from aexy.providers.offline.code import analyze_code, detect_language

__all__ = ["MODEL_NAME", "OfflineProvider", "OfflineSettings", "analyze_code", "detect_language"]


def __getattr__(name: str) -> Any:
    # The code heuristics are imported when first used, not with the provider.
    if name in ("analyze_code", "detect_language"):
        from aexy.providers.offline import code

        return getattr(code, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
