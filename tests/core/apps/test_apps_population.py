"""The population model, rule by rule, on a history with a real team's shapes
(``population_repo``): bots, identities, the active window, departures, the team's figures,
and what the commands make of them."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from aexy.apps import PopulationRules, population_of, read_history, team_metrics
from aexy.cli import AexyGroup
from aexy.errors import InvalidInputError

from .population_repo import ANN, ANN_HOME, BEN, BOT, CAT, DAN, END, PIX


def _keys(authors: object) -> list[str]:
    return [a.email for a in authors]  # type: ignore[attr-defined]


def test_who_is_active_inactive_or_a_bot(team_history_repo: Path) -> None:
    history = read_history(team_history_repo)
    pop = population_of(history)
    assert (pop.as_of, pop.active_since) == (END, END - timedelta(days=179))
    assert _keys(pop.active) == [ANN, DAN, PIX]  # most commits first
    assert _keys(pop.inactive) == [BEN, CAT, ANN_HOME]
    assert _keys(pop.bots) == [BOT]
    assert _keys(pop.departures) == [BEN]  # in the team one window ago, not now
    ben = history.author(BEN)
    assert pop.reason(ben) == ("inactive since 2023-12-11 (no commit in the 180 days up to "
                               "2024-06-28)")
    assert pop.reason(history.author(BOT)) == r"bot (matches \[bot\])"
    # Same name, two addresses: suggested, never merged.
    (suggested,) = pop.suggested_aliases
    assert suggested.developer_ids == [ANN, ANN_HOME]
    assert suggested.reason == "same name: ann lead"
    assert history.author(ANN).emails == (ANN,)


def test_the_rules_are_settings(team_history_repo: Path) -> None:
    history = read_history(team_history_repo)
    year = population_of(history, PopulationRules(active_days=365))
    assert BEN in _keys(year.active) and CAT not in _keys(year.active)
    assert _keys(year.departures) == []  # Cat left more than a year before that window
    with_bots = population_of(history, PopulationRules(include_bots=True))
    assert BOT in _keys(with_bots.active) and with_bots.bots == ()
    designers = population_of(history, PopulationRules(
        bot_patterns=(r"^pix@",)))  # a list of one's own replaces the defaults
    assert _keys(designers.bots) == [PIX] and BOT in _keys(designers.active)
    with pytest.raises(InvalidInputError, match="not a regular expression"):
        PopulationRules(bot_patterns=("[",))
    with pytest.raises(InvalidInputError, match="active_days"):
        PopulationRules(active_days=0)


def test_team_metrics_count_the_active_team_only(team_history_repo: Path) -> None:
    history = read_history(team_history_repo)
    m = team_metrics(history, team="svc")
    assert (m.start, m.end, m.size) == (END - timedelta(days=179), END, 3)
    # Commits in the window by the team: Ann 4, Dan 5, Pix 1; the bot is no member.
    assert m.commit_share == {ANN: 0.4, DAN: 0.5, PIX: 0.1}
    # tools/ was deleted: never listed; web/ has two members; api/ only Ann (Ben has left).
    assert m.single_owner_areas == ["api/"]
    assert m.departures == [BEN]


def test_code_areas_follow_renames_and_weigh_recent_work(team_history_repo: Path) -> None:
    history = read_history(team_history_repo)
    totals = history.area_totals(exclude=frozenset({BOT}))
    ann = {a.path: a for a in history.author(ANN).code_areas(totals)}
    # lib/ became api/: Ann's changes under the old name count for the new one.
    assert set(ann) == {"api/", "api/client.py", "api/transport.py"}
    assert ann["api/client.py"].commits == 14 and ann["api/client.py"].share == 0.9436
    ben = history.author(BEN).code_areas(totals)
    assert [(a.path, a.last_changed) for a in ben] == [("api/transport.py", date(2023, 12, 11))]
    # Ben's more recent commits on the transport weigh less than Ann's, which are newer.
    assert ben[0].share is not None and ben[0].share < ann["api/transport.py"].share  # type: ignore[operator]
    assert history.author(CAT).code_areas(totals) == []  # tools/ is gone


def test_profile_all_lists_the_team_and_who_is_not_in_it(
        cli: AexyGroup, runner: CliRunner, team_history_repo: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["profile", str(team_history_repo), "--all"])
    # The image-only contributor has no profile: a skip with its reason, not a failure.
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "active team: 3 people with commits from 2024-01-01 to 2024-06-28" in out
    # In a pipe a row is one line holding every column.
    (ann,) = [line for line in out.splitlines() if f"Ann Lead <{ANN}>" in line]
    assert re.search(r"Ann Lead <ann@corp\.example>\s+4\s+16\s+Python\s+api/, "
                     r"api/transport\.py, api/client\.py", ann), ann
    assert f"not profiled, 1 bots (--include-bots): dependabot[bot] <{BOT}> (1 commits)" in out
    assert f"Ben Left <{BEN}> inactive since 2023-12-11" in out
    assert f"left in the 180 days before: {BEN}" in out
    assert f"{ANN}, {ANN_HOME} (same name: ann lead)" in out
    assert f"no profile (refused) {PIX}: [unsupported]" in out
    as_json = json.loads(runner.invoke(cli, ["profile", str(team_history_repo), "--all",
                                             "--active-days", "365", "--json"]).stdout)
    assert [r["developer_id"] for r in as_json["reports"]] == [ANN, DAN, BEN, PIX]
    assert [p["developer_id"] for p in as_json["population"]["bots"]] == [BOT]


def test_no_verdict_for_someone_who_left(cli: AexyGroup, runner: CliRunner,
                                         team_history_repo: Path) -> None:
    args = ["predict", "--repo", str(team_history_repo), "--author", BEN]
    gone = runner.invoke(cli, [*args, "--json"])
    assert gone.exit_code == 0, gone.output  # the answer is the status, not a failure
    data = json.loads(gone.stdout)
    assert data["status"] == "inactive"
    for key in ("attrition", "burnout", "performance"):
        failure = data[key]["failure"]
        assert failure["code"] == "unsupported" and "inactive since 2023-12-11" in failure[
            "message"]
        assert data[key]["result"] is None
    assert data["cost"]["analyses"] == 0  # no provider was asked
    text = runner.invoke(cli, args).stdout
    assert f"{BEN}: inactive since 2023-12-11" in text
    # With a longer window Ben is still active, and the analyses run.
    active = json.loads(runner.invoke(cli, [*args, "--active-days", "365", "--json"]).stdout)
    assert active["status"] == "active" and active["attrition"]["result"] is not None


def test_team_health_from_the_active_team(cli: AexyGroup, runner: CliRunner,
                                          team_history_repo: Path) -> None:
    result = runner.invoke(cli, ["predict", "--repo", str(team_history_repo), "--team",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["metrics"]["size"] == 3 and data["metrics"]["departures"] == [BEN]
    health = data["health"]["result"]
    assert health["bottlenecks"] == ["single owners: api/"]
    # Each of git's dimensions (after hours, weekends, concentration, ownership, retention)
    # measures a risk only: scoring well on it is no strength.
    assert health["strengths"] == []
