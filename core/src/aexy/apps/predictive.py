"""``PredictiveAnalyzer``: attrition, burnout and performance for one developer, health for a
team, from activity data (read from git, or from a file).

The three analyses of a developer run concurrently through the gateway and its cache. Each
ends as an :class:`~aexy.apps.Outcome`: a result, or a typed failure with its message. The
offline provider refuses what the data cannot support (``unsupported``), e.g. a performance
trajectory from commit counts alone; that refusal is the outcome, shown as such, never
replaced by a default.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aexy.apps.git import Period, read_history
from aexy.apps.outcome import Cost, Failure, Outcome, outcome_type, run_analysis
from aexy.apps.population import PopulationRules, population_of, team_metrics
from aexy.apps.profile import ProfileReport
from aexy.apps.progress import NO_PROGRESS, Progress
from aexy.catalogue.activity import DeveloperActivity, TeamMetrics
from aexy.catalogue.predictive import AttritionRisk, BurnoutRisk, PerformanceTrajectory, TeamHealth
from aexy.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aexy.gateway import LLMGateway

__all__ = ["Prediction", "PredictiveAnalyzer", "TeamPrediction", "load_activity"]


class Prediction(BaseModel):
    """Attrition risk, burnout risk and performance trajectory of one developer."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["aexy.prediction"] = "aexy.prediction"
    schema_version: Literal[1] = 1
    developer_id: str
    source: str | None = Field(None, description="where the activity came from")
    attrition: Outcome[AttritionRisk]
    burnout: Outcome[BurnoutRisk]
    performance: Outcome[PerformanceTrajectory]
    activity: DeveloperActivity
    cost: Cost
    status: Literal["active", "inactive", "bot"] | None = Field(
        None, description="the person's place in the repository's population (from git)")
    status_reason: str | None = Field(None, description="why, in words")

    @property
    def outcomes(self) -> tuple[Outcome[Any], ...]:
        return (self.attrition, self.burnout, self.performance)


class TeamPrediction(BaseModel):
    """Team health from team metrics."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["aexy.team_prediction"] = "aexy.team_prediction"
    schema_version: Literal[1] = 1
    team: str | None
    source: str | None = None
    health: Outcome[TeamHealth]
    metrics: TeamMetrics
    cost: Cost

    @property
    def outcomes(self) -> tuple[Outcome[Any], ...]:
        return (self.health,)


def load_activity(path: str | os.PathLike[str]) -> DeveloperActivity | TeamMetrics:
    """A JSON file as :class:`~aexy.DeveloperActivity`, :class:`~aexy.TeamMetrics`, or the
    activity of a profile report (``aexy profile --json``)."""
    p = Path(path)
    try:
        data: Any = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{p}: cannot read activity data ({exc})") from None
    if isinstance(data, dict) and data.get("kind") == "aexy.profile_report":
        try:
            return ProfileReport.model_validate(data).activity
        except ValidationError as exc:
            raise InvalidInputError(f"{p} is a profile report that does not validate: "
                                    f"{_first_error(exc)}") from None
    errors = []
    for model in (DeveloperActivity, TeamMetrics):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors.append(f"as {model.__name__}: {_first_error(exc)}")
    raise InvalidInputError(
        f"{p} is neither DeveloperActivity nor TeamMetrics JSON (docs/activity-data.md); "
        + "; ".join(errors))


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    more = exc.error_count() - 1
    return f"{where}: {first['msg']}" + (f" (and {more} more)" if more else "")


class PredictiveAnalyzer:
    """Risk and trajectory predictions through an :class:`~aexy.LLMGateway`.

    :param horizon_months: forecast horizon of the performance trajectory (default 6).
    :param concurrency: analyses in flight at once.
    :param use_cache: read and write the gateway's cache.
    """

    def __init__(self, gateway: LLMGateway, *, horizon_months: int | None = None,
                 concurrency: int = 3, use_cache: bool = True) -> None:
        if concurrency < 1 or (horizon_months is not None and horizon_months < 1):
            raise InvalidInputError("concurrency and horizon_months must be 1 or more")
        self.gateway = gateway
        self.horizon_months = horizon_months
        self.concurrency = concurrency
        self.use_cache = use_cache

    async def predict(self, activity: DeveloperActivity, *, source: str | None = None,
                      progress: Progress = NO_PROGRESS) -> Prediction:
        """``attrition_risk``, ``burnout_risk`` and ``performance_trajectory`` of one
        developer's activity, concurrently."""
        # Code evidence is for profiles; the risk analyses read the periods.
        data = activity.model_copy(update={"code_evidence": []}) if activity.code_evidence \
            else activity
        content = data.model_dump_json(exclude_none=True)
        who = {"developer_id": activity.developer_id}
        limit = asyncio.Semaphore(self.concurrency)
        cost = Cost()
        progress.planned(3)

        async def one(kind: str, model: Any, context: Mapping[str, Any]) -> Outcome[Any]:
            outcome = await run_analysis(self.gateway, model, kind, content, context,
                                         limit=limit, use_cache=self.use_cache, cost=cost)
            progress.advanced(kind)
            return outcome

        horizon = ({"horizon_months": self.horizon_months}
                   if self.horizon_months is not None else {})
        attrition, burnout, performance = await asyncio.gather(
            one("attrition_risk", AttritionRisk, who),
            one("burnout_risk", BurnoutRisk, who),
            one("performance_trajectory", PerformanceTrajectory, {**who, **horizon}))
        return Prediction(developer_id=activity.developer_id, source=source,
                          attrition=attrition, burnout=burnout, performance=performance,
                          activity=data, cost=cost)

    async def predict_from_git(
        self, repo: str | os.PathLike[str], author: str, *, since: date | None = None,
        until: date | None = None, period: Period = "week",
        aliases: Mapping[str, str] | None = None, progress: Progress = NO_PROGRESS,
        rules: PopulationRules | None = None,
    ) -> Prediction:
        """:meth:`predict` over one author's activity read from ``repo``.

        Only for someone active (see :class:`~aexy.apps.PopulationRules`): for a person who
        is no longer active, or a bot, no verdict is made, and each analysis is refused with
        the reason ("inactive since 2021-03-02 ...") without calling a provider."""
        history = await asyncio.to_thread(read_history, repo, since=since, until=until,
                                          period=period, aliases=aliases)
        found = history.author(author)
        population = population_of(history, rules)
        status = population.status(found)
        reason = population.reason(found)
        source = f"git {repo}"
        if status == "active":
            prediction = await self.predict(found.activity, source=source, progress=progress)
            return prediction.model_copy(update={"status": status, "status_reason": reason})
        why = (f"{found.email} is {reason}: no attrition, burnout or trajectory verdict is made "
               "for someone who is no longer active" if status == "inactive" else
               f"{found.email} is a {reason}: people analyses are for people")
        progress.planned(0)

        def refused(kind: str, model: type[Any]) -> Outcome[Any]:
            return outcome_type(model)(analysis_type=kind,
                                       failure=Failure(code="unsupported", message=why))

        return Prediction(developer_id=found.email, source=source,
                          attrition=refused("attrition_risk", AttritionRisk),
                          burnout=refused("burnout_risk", BurnoutRisk),
                          performance=refused("performance_trajectory", PerformanceTrajectory),
                          activity=found.activity, cost=Cost(), status=status,
                          status_reason=reason)

    async def team_health(self, metrics: TeamMetrics, *, source: str | None = None,
                          progress: Progress = NO_PROGRESS) -> TeamPrediction:
        """``team_health`` of one team's metrics."""
        cost = Cost()
        progress.planned(1)
        context = {k: v for k, v in (("team_name", metrics.team), ("team_size", metrics.size),
                                     ("period", f"{metrics.start}..{metrics.end}"))
                   if v is not None}
        health = await run_analysis(self.gateway, TeamHealth, "team_health",
                                    metrics.model_dump_json(exclude_none=True), context,
                                    limit=asyncio.Semaphore(1), use_cache=self.use_cache,
                                    cost=cost)
        progress.advanced("team_health")
        return TeamPrediction(team=metrics.team, source=source, health=health, metrics=metrics,
                              cost=cost)

    async def team_health_from_git(
        self, repo: str | os.PathLike[str], *, team: str | None = None,
        since: date | None = None, until: date | None = None,
        aliases: Mapping[str, str] | None = None, progress: Progress = NO_PROGRESS,
        rules: PopulationRules | None = None,
    ) -> TeamPrediction:
        """:meth:`team_health` over the figures git holds about the active team of ``repo``
        (see :func:`~aexy.apps.team_metrics`)."""
        history = await asyncio.to_thread(read_history, repo, since=since, until=until,
                                          aliases=aliases)
        metrics = team_metrics(history, population_of(history, rules), team)
        return await self.team_health(metrics, source=f"git {repo}", progress=progress)
