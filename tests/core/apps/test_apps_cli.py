"""``aexy profile``, ``aexy match`` and ``aexy predict``: output, exit codes and errors in the
style of ``aexy analyze``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from aexy import DeveloperActivity, TeamMetrics
from aexy.apps import report_file_name
from aexy.catalogue.activity import ActivityPeriod
from aexy.cli import AexyGroup

from .repos import ALICE, BOB, BOB_GITHUB
from .test_apps_matching import TS_TASK
from .test_apps_predictive import overworked

ALIAS = f"{BOB_GITHUB}={BOB}"


def test_the_commands_are_listed(cli: AexyGroup, runner: CliRunner) -> None:
    out = runner.invoke(cli, ["--help"]).output
    assert all(f"  {name} " in out for name in ("profile", "match", "predict"))


def test_profile_json(cli: AexyGroup, runner: CliRunner, team_repo: Path) -> None:
    result = runner.invoke(cli, ["profile", str(team_repo), "--author", ALICE, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "aexy.profile_report" and data["developer_id"] == ALICE
    assert data["figures"]["commits"] == 5
    assert data["profile"]["result"]["primary_languages"] == ["Python"]  # Markdown is prose
    assert data["profile"]["provenance"]["method"] == "heuristic"
    assert [s["path"] for s in data["samples"]] == ["api/app.py", "api/schema.py"]
    assert data["cost"]["provider_calls"] == 3


def test_profile_panels(cli: AexyGroup, runner: CliRunner, team_repo: Path) -> None:
    result = runner.invoke(cli, ["profile", str(team_repo), "-a", BOB, "--alias", ALIAS,
                                 "--quality", "--samples", "2"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Bob Jones" in out and "activity from git" in out
    assert "heuristic result, no model" in out and "developer_profile" in out
    assert "TypeScript 27" in out and "JavaScript 4" in out
    assert "web/App.tsx" in out and "quality" in out
    assert "5 analyses" in out and "5 provider calls" in out


def test_profiles_written_then_matched(cli: AexyGroup, runner: CliRunner, team_repo: Path,
                                       tmp_path: Path) -> None:
    out_dir = tmp_path / "profiles"
    result = runner.invoke(cli, ["profile", str(team_repo), "--all", "--alias", ALIAS,
                                 "-o", str(out_dir), "--json"])
    assert result.exit_code == 0, result.output
    team = json.loads(result.stdout)
    assert team["kind"] == "aexy.team_report"
    assert [r["developer_id"] for r in team["reports"]] == [ALICE, BOB]
    files = {ALICE: report_file_name(ALICE), BOB: report_file_name(BOB)}
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(files.values())
    task = tmp_path / "task.md"
    task.write_text(TS_TASK + "\n")
    matched = runner.invoke(cli, ["match", str(task), "--profiles", str(out_dir), "--json"])
    assert matched.exit_code == 0, matched.output
    data = json.loads(matched.stdout)
    assert [r["developer_id"] for r in data["ranking"]] == [BOB, ALICE]
    assert data["ranking"][0]["match"]["skill_match"] == 1.0
    table = runner.invoke(cli, ["match", str(task), "--profiles", str(out_dir / files[BOB]),
                                "--profiles", str(out_dir / files[ALICE])])
    assert table.exit_code == 0, table.output
    assert "developers for:" in table.stdout
    assert table.stdout.index(BOB) < table.stdout.index(ALICE)


def test_profile_usage_and_errors(cli: AexyGroup, runner: CliRunner, team_repo: Path,
                                  tmp_path: Path) -> None:
    usage = runner.invoke(cli, ["profile", str(team_repo)])
    assert usage.exit_code == 2 and "give --author EMAIL" in usage.stderr
    both = runner.invoke(cli, ["profile", str(team_repo), "--all", "-a", ALICE])
    assert both.exit_code == 2
    alias = runner.invoke(cli, ["profile", str(team_repo), "--all", "--alias", "nope"])
    assert alias.exit_code == 2 and "is not ALIAS_EMAIL=EMAIL" in alias.stderr
    unknown = runner.invoke(cli, ["profile", str(team_repo), "-a", "zed@example.com"])
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: no author 'zed@example.com'")
    plain = tmp_path / "plain"
    plain.mkdir()
    not_repo = runner.invoke(cli, ["profile", str(plain), "--all"])
    assert not_repo.exit_code == 1 and "is not a git repository" in not_repo.stderr
    assert "Traceback" not in not_repo.output


def test_predict_from_git_shows_the_refusal(cli: AexyGroup, runner: CliRunner,
                                            crunch_repo: Path) -> None:
    args = ["predict", "--repo", str(crunch_repo), "--author", "carol@example.com"]
    panels = runner.invoke(cli, args)
    assert panels.exit_code == 0, panels.output  # two answered, one refused
    out = panels.stdout
    assert "burnout_risk" in out and "attrition_risk" in out
    assert "refused by offline/heuristic-v1" in out and "performance_trajectory" in out
    assert "[unsupported]" in out and "1 failed" in out
    as_json = json.loads(runner.invoke(cli, [*args, "--json"]).stdout)
    assert as_json["burnout"]["result"]["risk_level"] in ("high", "critical")
    assert as_json["performance"]["result"] is None
    assert as_json["performance"]["failure"]["code"] == "unsupported"


def test_predict_from_files(cli: AexyGroup, runner: CliRunner, tmp_path: Path) -> None:
    activity = tmp_path / "activity.json"
    activity.write_text(overworked().model_dump_json())
    result = runner.invoke(cli, ["predict", str(activity), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["burnout"]["result"]["risk_level"] in ("high", "critical")
    assert all(data[k]["failure"] is None for k in ("attrition", "burnout", "performance"))
    team = tmp_path / "team.json"
    team.write_text(TeamMetrics(team="core", start=date(2024, 3, 4), end=date(2024, 3, 31),
                                size=4, deploys=12, change_failure_rate=0.1,
                                cycle_time_days_p50=2).model_dump_json())
    health = runner.invoke(cli, ["predict", str(team)])
    assert health.exit_code == 0, health.output
    assert "team_health · core" in health.stdout


def test_predict_exits_1_when_nothing_can_be_answered(cli: AexyGroup, runner: CliRunner,
                                                      tmp_path: Path) -> None:
    thin = tmp_path / "thin.json"
    thin.write_text(DeveloperActivity(developer_id="x", periods=[ActivityPeriod(
        start=date(2024, 3, 4), end=date(2024, 3, 10), commits=3)]).model_dump_json())
    result = runner.invoke(cli, ["predict", str(thin)])
    assert result.exit_code == 1
    assert result.stdout.count("refused by offline/heuristic-v1") == 3


def test_predict_team_from_git_and_usage(cli: AexyGroup, runner: CliRunner, team_repo: Path,
                                         tmp_path: Path) -> None:
    team = runner.invoke(cli, ["predict", "--repo", str(team_repo), "--team", "--alias", ALIAS,
                               "--json"])
    assert team.exit_code == 0, team.output
    data = json.loads(team.stdout)
    assert data["team"] == "shop" and data["metrics"]["size"] == 2
    assert data["health"]["result"]["grade"] in "ABCDF"
    for args, message in (
        (["predict"], "give ACTIVITY.json"),
        (["predict", "--repo", str(team_repo)], "give --author EMAIL or --team"),
        (["predict", "--repo", str(team_repo), "--team", "-a", ALICE], "one of them"),
        (["predict", str(tmp_path / "nope.json")], "does not exist"),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr or message in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"developer_id": "x"}')
    stray = runner.invoke(cli, ["predict", str(bad), "--author", ALICE])
    assert stray.exit_code == 2 and "go with --repo" in stray.stderr
    invalid = runner.invoke(cli, ["predict", str(bad)])
    assert invalid.exit_code == 1
    assert invalid.stderr.startswith("Error: ") and "neither DeveloperActivity" in invalid.stderr


def test_match_exits_1_when_nobody_can_be_ranked(cli: AexyGroup, runner: CliRunner,
                                                 tmp_path: Path) -> None:
    task = tmp_path / "task.md"
    task.write_text(TS_TASK)
    vague = tmp_path / "vague.json"
    vague.write_text(json.dumps({"summary": "writes code", "primary_languages": ["Go"]}))
    result = runner.invoke(cli, ["match", str(task), "--profiles", str(vague)])
    assert result.exit_code == 1
    assert "not ranked, 1 refused: vague: " in result.stdout
    missing = runner.invoke(cli, ["match", str(task), "--profiles", str(tmp_path / "none")])
    assert missing.exit_code == 2
