"""The built-in analysis catalogue: one module per domain, each exporting ``SPECS``.

============  ===============================================================
module        types
============  ===============================================================
``code``      code_quality, code_complexity, skill_extraction
``developer`` developer_profile, soft_skills, growth_trajectory
``task``      task_signals, task_matching
``predictive`` attrition_risk, burnout_risk, performance_trajectory, team_health
``career``    learning_path, job_description, interview_rubric
``activity``  the typed input of the people types: DeveloperActivity, TeamMetrics
============  ===============================================================
"""

from __future__ import annotations

from aexy.analysis import AnalysisSpec


def builtin_specs() -> list[AnalysisSpec]:
    """The 15 built-in specs, in :class:`~aexy.analysis.AnalysisType` order."""
    from aexy.catalogue import career, code, developer, predictive, task

    return [*code.SPECS, *developer.SPECS, *task.SPECS, *predictive.SPECS, *career.SPECS]
