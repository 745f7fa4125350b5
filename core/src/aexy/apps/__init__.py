"""The application layer: analyses composed over :class:`~aexy.LLMGateway` on real inputs.

- :class:`ProfileAnalyzer`: a developer's profile from their commits (code samples through
  ``skill_extraction``, then ``developer_profile``).
- :class:`TaskMatcher`: developers ranked for a task (``task_signals``, ``task_matching``).
- :class:`PredictiveAnalyzer`: attrition, burnout and performance of a developer; team health.
- :func:`read_history`: a repository's history as typed activity data, per author and period.

None of them holds provider-specific code: everything goes through the gateway (its cache,
fallbacks, limits and telemetry). ``docs/applications.md`` shows them at work.
"""

from __future__ import annotations

from aexy.apps.git import (
    ActivityFigures,
    AuthorHistory,
    FileChurn,
    GitError,
    GitHistory,
    GitNotFoundError,
    NotARepositoryError,
    UnknownAuthorError,
    read_history,
)
from aexy.apps.matching import (
    Candidate,
    MatchReport,
    RankedDeveloper,
    TaskMatcher,
    Unmatched,
    load_profiles,
)
from aexy.apps.outcome import Cost, Failure, Outcome
from aexy.apps.predictive import Prediction, PredictiveAnalyzer, TeamPrediction, load_activity
from aexy.apps.profile import ProfileAnalyzer, ProfileReport, SampleEvidence, SkippedFile
from aexy.apps.progress import Progress

__all__ = [
    "ActivityFigures",
    "AuthorHistory",
    "Candidate",
    "Cost",
    "Failure",
    "FileChurn",
    "GitError",
    "GitHistory",
    "GitNotFoundError",
    "MatchReport",
    "NotARepositoryError",
    "Outcome",
    "Prediction",
    "PredictiveAnalyzer",
    "ProfileAnalyzer",
    "ProfileReport",
    "Progress",
    "RankedDeveloper",
    "SampleEvidence",
    "SkippedFile",
    "TaskMatcher",
    "TeamPrediction",
    "UnknownAuthorError",
    "Unmatched",
    "load_activity",
    "load_profiles",
    "read_history",
]
