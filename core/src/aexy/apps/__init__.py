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

Names are imported on first use (as for the ``aexy`` package), so that ``aexy --help`` and the
CLI's own modules load nothing of the application layer until a command needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aexy._lazy import lazy_names

if TYPE_CHECKING:
    from aexy.apps.git import ActivityFigures as ActivityFigures
    from aexy.apps.git import AuthorHistory as AuthorHistory
    from aexy.apps.git import FileChurn as FileChurn
    from aexy.apps.git import GitError as GitError
    from aexy.apps.git import GitHistory as GitHistory
    from aexy.apps.git import GitNotFoundError as GitNotFoundError
    from aexy.apps.git import NotARepositoryError as NotARepositoryError
    from aexy.apps.git import UnknownAuthorError as UnknownAuthorError
    from aexy.apps.git import UnreadableCommit as UnreadableCommit
    from aexy.apps.git import read_history as read_history
    from aexy.apps.matching import Candidate as Candidate
    from aexy.apps.matching import MatchEvidence as MatchEvidence
    from aexy.apps.matching import MatchReport as MatchReport
    from aexy.apps.matching import RankedDeveloper as RankedDeveloper
    from aexy.apps.matching import RankWeights as RankWeights
    from aexy.apps.matching import TaskMatcher as TaskMatcher
    from aexy.apps.matching import Unmatched as Unmatched
    from aexy.apps.matching import load_profiles as load_profiles
    from aexy.apps.outcome import Cost as Cost
    from aexy.apps.outcome import Failure as Failure
    from aexy.apps.outcome import Outcome as Outcome
    from aexy.apps.population import AliasSuggestion as AliasSuggestion
    from aexy.apps.population import Person as Person
    from aexy.apps.population import Population as Population
    from aexy.apps.population import PopulationRules as PopulationRules
    from aexy.apps.population import PopulationSummary as PopulationSummary
    from aexy.apps.population import population_of as population_of
    from aexy.apps.population import team_metrics as team_metrics
    from aexy.apps.predictive import Prediction as Prediction
    from aexy.apps.predictive import PredictiveAnalyzer as PredictiveAnalyzer
    from aexy.apps.predictive import TeamPrediction as TeamPrediction
    from aexy.apps.predictive import load_activity as load_activity
    from aexy.apps.profile import ProfileAnalyzer as ProfileAnalyzer
    from aexy.apps.profile import ProfileReport as ProfileReport
    from aexy.apps.profile import ReportSink as ReportSink
    from aexy.apps.profile import SampleEvidence as SampleEvidence
    from aexy.apps.profile import SkippedFile as SkippedFile
    from aexy.apps.profile import TeamReport as TeamReport
    from aexy.apps.progress import Progress as Progress
    from aexy.apps.store import ReportStore as ReportStore
    from aexy.apps.store import report_file_name as report_file_name

__getattr__, __dir__ = lazy_names(__name__, __file__, globals(), ())
