"""A real repository: the history of hukkin/tomli (MIT licence, ``data/tomli.LICENSE``) up to
920e20b, bundled as ``data/tomli.bundle`` (``git bundle create tomli.bundle HEAD``). It has a
bot (pre-commit-ci), one person behind four addresses, one-off contributors long gone, and
directories renamed.

The figures read are checked against plain ``git log`` output parsed here independently, as
the issue checked them on encode/httpx."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import datetime, time
from pathlib import Path

import pytest
from click.testing import CliRunner

from aexy.apps import population_of, read_history, team_metrics
from aexy.cli import AexyGroup

from .repos import GIT_ENV, require_git

BUNDLE = Path(__file__).parent / "data" / "tomli.bundle"
REVISION = "920e20b1cf495b63f6d4a6aa3cd5e4ff25f5f5a7"
TANELI = "hukkinen@eurecom.fr"  # the address he uses now
TANELI_OTHERS = ["3275109+hukkin@users.noreply.github.com", "hukkin@users.noreply.github.com",
                 "hukkinj1@users.noreply.github.com"]
BOT = "66853113+pre-commit-ci[bot]@users.noreply.github.com"


@pytest.fixture(scope="module")
def tomli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_git()
    repo = tmp_path_factory.mktemp("real") / "tomli"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(repo)], check=True,
                   capture_output=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"})
    return repo


def _plain_git_log(repo: Path) -> dict[str, Counter[str]]:
    """Per author email: commits, lines added and deleted, after-hours and weekend commits,
    from ``git log --numstat`` read line by line (renames by their numstat counts)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", "--numstat", "-M",
         "--format=@@%ae|%aI"], capture_output=True, text=True, check=True).stdout
    figures: dict[str, Counter[str]] = {}
    current: Counter[str] = Counter()
    for line in out.splitlines():
        if line.startswith("@@"):
            email, when = line[2:].split("|")
            current = figures.setdefault(email.lower(), Counter())
            at = datetime.fromisoformat(when)
            current["commits"] += 1
            if at.weekday() >= 5:
                current["weekend"] += 1
            elif not time(8) <= at.time() < time(19):
                current["after_hours"] += 1
        elif line.strip():
            added, deleted, _ = line.split("\t", 2)
            current["added"] += 0 if added == "-" else int(added)
            current["deleted"] += 0 if deleted == "-" else int(deleted)
    return figures


def test_every_figure_equals_plain_git_log(tomli: Path) -> None:
    history = read_history(tomli)
    assert history.revision == REVISION and history.commits == 305 and not history.unreadable
    expected = _plain_git_log(tomli)
    assert set(history.authors) == set(expected)
    for key, author in history.authors.items():
        f = author.figures
        got = Counter(commits=f.commits, added=f.lines_added, deleted=f.lines_deleted,
                      after_hours=f.after_hours_commits, weekend=f.weekend_commits)
        assert +got == +expected[key], key
        assert sum(p.commits or 0 for p in author.activity.periods) == f.commits
    # Only weeks with commits are stored; the series lists the rest as zero.
    taneli = history.author(TANELI)
    weeks = taneli.activity.periods
    # (a last week cut to one day by the end of the window joins the week before it)
    assert all(p.commits for p in weeks) and len(weeks) <= taneli.figures.active_weeks
    assert len(taneli.series().periods) > len(weeks)


def test_the_population_of_a_real_repository(tomli: Path) -> None:
    history = read_history(tomli)
    pop = population_of(history)
    assert [a.email for a in pop.bots] == [BOT]
    assert [a.email for a in pop.active] == [TANELI, "1324225+hugovk@users.noreply.github.com",
                                             "flan313@gmail.com"]
    assert len(pop.inactive) == 12
    suggested = {tuple(s.developer_ids): s.reason for s in pop.suggested_aliases}
    assert suggested[tuple(sorted([TANELI, *TANELI_OTHERS]))] == "same name: taneli hukkinen"
    metrics = team_metrics(history, pop)
    assert metrics.size == 3 and metrics.departures == ["mail@sobolevn.me"]
    assert "src/tomli/" in (metrics.single_owner_areas or [])
    # Renamed directories count under their names at the revision; the old ones are gone.
    merged = read_history(tomli, aliases={other: TANELI for other in TANELI_OTHERS})
    areas = {a.path for a in merged.author(TANELI).code_areas(limit=1000)}
    assert "tests/data/invalid/_external/toml-test/" in areas
    assert not any("burntsushi/" in a for a in areas)


def test_profile_and_match_on_a_real_repository(cli: AexyGroup, runner: CliRunner,
                                                tomli: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "profiles", tmp_path / "team.md"
    aliases = [x for other in TANELI_OTHERS for x in ("--alias", f"{other}={TANELI}")]
    result = runner.invoke(cli, ["profile", str(tomli), "--all", *aliases, "-o", str(out),
                                 "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "active team: 3 people" in result.stdout
    assert "not profiled, 1 bots" in result.stdout and "possibly one person" not in (
        result.stdout.split("hukkin")[0])
    taneli = json.loads(next(p for p in out.iterdir() if p.name.startswith(TANELI))
                        .read_text())
    assert len(taneli["emails"]) == 4 and taneli["figures"]["commits"] == 280
    levels = {e["area"]: e["level"] for e in taneli["profile"]["result"]["expertise"]}
    assert levels["Python"] in ("advanced", "expert")  # the author of the code base
    document = report.read_text()
    assert document.startswith("# Team profile: ") and "## Overview" in document
    assert "### Bots, not profiled (1)" in document and "## Taneli Hukkinen" in document
    task = tmp_path / "task.md"
    task.write_text("Speed up the parser on long multiline strings\n")
    ranked = json.loads(runner.invoke(cli, ["match", str(task), "--profiles", str(out),
                                            "--json"]).stdout)
    named = ranked["signals"]["result"]["code_areas"]
    assert named[0] == "src/tomli/_parser.py"  # the module first, then the string test data
    assert all("string" in a for a in named[1:])
    first = ranked["ranking"][0]
    assert first["developer_id"] == TANELI
    assert first["evidence"]["area_shares"]["src/tomli/_parser.py"] > 0.9
    assert "owns" in first["explanation"] and "src/tomli/_parser.py" in first["explanation"]
