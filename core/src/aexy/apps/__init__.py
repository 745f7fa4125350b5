"""The application layer: analyses composed over :class:`~aexy.LLMGateway` on real inputs.

- :class:`ProfileAnalyzer`: a developer's profile from their commits (code samples through
  ``skill_extraction``, then ``developer_profile``); a repository's whole team at once.
- :class:`TaskMatcher`: developers ranked for a task (``task_signals``, ``task_matching``, and
  the code areas they own).
- :class:`PredictiveAnalyzer`: attrition, burnout and performance of a developer; team health.
- :func:`read_history`: a repository's history as typed activity data, per author and period;
  :func:`population_of`: who in it is active, inactive, or a bot.

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
    UnreadableCommit,
    read_history,
)
from aexy.apps.matching import (
    Candidate,
    MatchEvidence,
    MatchReport,
    RankedDeveloper,
    RankWeights,
    TaskMatcher,
    Unmatched,
    load_profiles,
)
from aexy.apps.outcome import Cost, Failure, Outcome
from aexy.apps.population import (
    AliasSuggestion,
    Person,
    Population,
    PopulationRules,
    PopulationSummary,
    population_of,
    team_metrics,
)
from aexy.apps.predictive import Prediction, PredictiveAnalyzer, TeamPrediction, load_activity
from aexy.apps.profile import (
    ProfileAnalyzer,
    ProfileReport,
    ReportSink,
    SampleEvidence,
    SkippedFile,
    TeamReport,
)
from aexy.apps.progress import Progress
from aexy.apps.store import ReportStore, report_file_name

__all__ = [
    "ActivityFigures",
    "AliasSuggestion",
    "AuthorHistory",
    "Candidate",
    "Cost",
    "Failure",
    "FileChurn",
    "GitError",
    "GitHistory",
    "GitNotFoundError",
    "MatchEvidence",
    "MatchReport",
    "NotARepositoryError",
    "Outcome",
    "Person",
    "Population",
    "PopulationRules",
    "PopulationSummary",
    "Prediction",
    "PredictiveAnalyzer",
    "ProfileAnalyzer",
    "ProfileReport",
    "Progress",
    "RankWeights",
    "RankedDeveloper",
    "ReportSink",
    "ReportStore",
    "SampleEvidence",
    "SkippedFile",
    "TaskMatcher",
    "TeamPrediction",
    "TeamReport",
    "UnknownAuthorError",
    "Unmatched",
    "UnreadableCommit",
    "load_activity",
    "load_profiles",
    "population_of",
    "read_history",
    "report_file_name",
    "team_metrics",
]
