"""Activity from git: every figure of the fixture repository, counted by hand from its commits
(see ``repos.team_commits``), aliases, time zones, windows, renames and errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aexy.apps import (
    GitError,
    GitNotFoundError,
    NotARepositoryError,
    UnknownAuthorError,
    read_history,
    team_metrics,
)
from aexy.apps.git import read_blobs
from aexy.catalogue.activity import ActivityPeriod
from aexy.errors import InvalidInputError

from .repos import (
    ALICE,
    ALICE_OLD,
    BOB,
    BOB_GITHUB,
    Commit,
    build,
    git,
    lines,
)

MERGE_BOB = {BOB_GITHUB: BOB}


def _period(p: ActivityPeriod) -> dict[str, object]:
    return p.model_dump(exclude={"skills", "quality_score"}, exclude_none=True)


def test_alice_per_week_figures_are_exact(team_repo: Path) -> None:
    history = read_history(team_repo)
    alice = history.author(ALICE)
    assert [_period(p) for p in alice.activity.periods] == [
        # Mon 10:00, Tue 21:30 (after hours), Sat 11:00 (weekend), all UTC+2.
        {"start": date(2024, 3, 4), "end": date(2024, 3, 10), "label": "2024-W10",
         "commits": 3, "lines_added": 25, "lines_deleted": 1,
         "lines_by_language": {"Python": 24, "Markdown": 2}, "files_touched": 3,
         "active_days": 3, "after_hours_share": 0.3333, "weekend_share": 0.3333},
        # Mon 00:30 local (after hours; Sunday in UTC), Tue 18:59: the vendored file's 4 lines
        # and the binary file count as lines added but not as any language.
        {"start": date(2024, 3, 11), "end": date(2024, 3, 17), "label": "2024-W11",
         "commits": 2, "lines_added": 11, "lines_deleted": 0,
         "lines_by_language": {"Python": 7}, "files_touched": 5,
         "active_days": 2, "after_hours_share": 0.5, "weekend_share": 0.0},
    ]
    f = alice.figures
    assert (f.commits, f.active_days, f.lines_added, f.lines_deleted, f.files_touched) == (
        5, 5, 36, 1, 6)
    assert f.lines_by_language == {"Python": 31, "Markdown": 2}
    assert (f.after_hours_commits, f.weekend_commits) == (2, 1)
    assert (f.after_hours_share, f.weekend_share) == (0.4, 0.2)
    assert f.first_commit.isoformat() == "2024-03-04T10:00:00+02:00"
    assert f.last_commit.isoformat() == "2024-03-12T18:59:00+02:00"


def test_mailmap_merges_alice_and_lists_every_address(team_repo: Path) -> None:
    history = read_history(team_repo)
    alice = history.author(ALICE)
    assert alice.name == "Alice Smith"
    assert alice.emails == (ALICE, ALICE_OLD)  # newest first
    assert history.author(ALICE_OLD) is alice  # found by an alias too
    assert history.author("alice smith") is alice


def test_bob_in_his_own_time_zone(team_repo: Path) -> None:
    # Friday 17:00 in UTC-8 is Saturday in UTC; it counts as a working-hours weekday.
    bob = read_history(team_repo, aliases=MERGE_BOB).author(BOB)
    assert [_period(p) for p in bob.activity.periods] == [
        {"start": date(2024, 3, 4), "end": date(2024, 3, 10), "label": "2024-W10",
         "commits": 2, "lines_added": 23, "lines_deleted": 2,
         "lines_by_language": {"TypeScript": 25}, "files_touched": 2, "active_days": 2,
         "after_hours_share": 0.0, "weekend_share": 0.0},
        # Wed 19:00 (after hours), Sun 10:00 (weekend); package-lock.json is no language.
        {"start": date(2024, 3, 11), "end": date(2024, 3, 17), "label": "2024-W11",
         "commits": 2, "lines_added": 11, "lines_deleted": 0,
         "lines_by_language": {"JavaScript": 4, "TypeScript": 2}, "files_touched": 3,
         "active_days": 2, "after_hours_share": 0.5, "weekend_share": 0.5},
    ]
    assert bob.emails == (BOB_GITHUB, BOB)
    assert bob.figures.lines_by_language == {"TypeScript": 27, "JavaScript": 4}


def test_without_the_alias_the_github_address_is_its_own_author(team_repo: Path) -> None:
    history = read_history(team_repo)
    assert list(history.authors) == [ALICE, BOB, BOB_GITHUB]  # most commits first
    bob, other = history.author(BOB), history.author(BOB_GITHUB)
    assert (bob.figures.commits, other.figures.commits) == (3, 1)
    assert bob.activity.periods[-1].after_hours_share == 1.0
    # The second address starts in week 11: one period, Sunday 10:00, on a weekend.
    assert [_period(p) for p in other.activity.periods] == [
        {"start": date(2024, 3, 11), "end": date(2024, 3, 17), "label": "2024-W11",
         "commits": 1, "lines_added": 4, "lines_deleted": 0,
         "lines_by_language": {"JavaScript": 4}, "files_touched": 1, "active_days": 1,
         "after_hours_share": 0.0, "weekend_share": 1.0}]
    merged = read_history(team_repo, aliases=MERGE_BOB)
    assert list(merged.authors) == [ALICE, BOB]


def test_file_churn_follows_a_rename_and_marks_binary_and_vendored(team_repo: Path) -> None:
    alice = read_history(team_repo).author(ALICE)
    files = {f.path: f for f in alice.files}
    assert [f.path for f in alice.files][:2] == ["api/app.py", "api/schema.py"]
    assert (files["api/app.py"].lines, files["api/app.py"].commits) == (16, 2)
    # api/models.py (8 + 3 lines) was renamed to api/schema.py (+1): one file, three commits.
    schema = files["api/schema.py"]
    assert (schema.lines, schema.commits, schema.sample_path) == (12, 3, "api/schema.py")
    assert "api/models.py" not in files
    assert files["assets/logo.png"].binary and files["assets/logo.png"].sample_commit is None
    assert files["vendor/lib.py"].vendored and not files["api/app.py"].vendored


def test_team_metrics_from_history(team_repo: Path) -> None:
    metrics = team_metrics(read_history(team_repo, aliases=MERGE_BOB), team="shop")
    assert (metrics.start, metrics.end, metrics.size) == (date(2024, 3, 4), date(2024, 3, 17), 2)
    assert metrics.after_hours_share == 0.3333  # 3 of 9 commits
    assert metrics.weekend_share == 0.2222  # 2 of 9
    assert metrics.commit_share == {ALICE: 0.5555, BOB: 0.4444}
    # Code directories only: vendor/ is not an area, and assets/ holds no code.
    assert metrics.single_owner_areas == ["api/", "web/"]
    assert metrics.departures == []
    assert metrics.deploys is None and metrics.review_share == {}  # not in a repository


def test_since_and_until_cut_the_window_and_the_periods(team_repo: Path) -> None:
    history = read_history(team_repo, since=date(2024, 3, 6), until=date(2024, 3, 14))
    assert (history.start, history.end, history.commits) == (
        date(2024, 3, 6), date(2024, 3, 14), 6)
    alice = history.author(ALICE)
    assert [(p.start, p.end, p.label, p.commits) for p in alice.activity.periods] == [
        (date(2024, 3, 6), date(2024, 3, 10), "2024-W10", 1),
        (date(2024, 3, 11), date(2024, 3, 14), "2024-W11", 2)]
    # Quiet weeks up to the end of the window are weeks without commits: omitted from the
    # activity (which says so), listed in the series.
    late = read_history(team_repo, until=date(2024, 3, 31)).author(ALICE)
    assert [p.commits for p in late.activity.periods] == [3, 2]
    assert (late.activity.quiet_periods, late.activity.window_end) == (
        "omitted", date(2024, 3, 31))
    series = late.series()
    assert [p.commits for p in series.periods] == [3, 2, 0, 0]
    assert series.periods[-1].after_hours_share is None  # no commit: not measured
    assert series.periods[-1].active_days == 0 and series.periods[-1].label == "2024-W13"


def test_a_period_cut_to_less_than_half_joins_its_neighbour(team_repo: Path) -> None:
    # Window Saturday 9 to Tuesday 12 March: two days of week 10, two of week 11.
    alice = read_history(team_repo, since=date(2024, 3, 9), until=date(2024, 3, 12)).author(
        ALICE)
    (both,) = alice.activity.periods
    assert (both.start, both.end, both.label, both.commits, both.active_days) == (
        date(2024, 3, 9), date(2024, 3, 12), "2024-W10..2024-W11", 3, 3)
    assert both.after_hours_share == 0.3333 and both.weekend_share == 0.3333
    # Saturday 9 to Sunday 17: the first two days join week 11.
    history = read_history(team_repo, since=date(2024, 3, 9))
    (week,) = history.author(ALICE).activity.periods
    assert (week.start, week.end, week.commits) == (date(2024, 3, 9), date(2024, 3, 17), 3)
    # An author's periods start with their own first commit in the window (Wednesday 13).
    (bob,) = history.author(BOB).activity.periods
    assert (bob.start, bob.end, bob.commits) == (date(2024, 3, 11), date(2024, 3, 17), 1)
    # Up to Tuesday 12: two days of week 11 after a whole week 10 join it.
    short = read_history(team_repo, until=date(2024, 3, 12)).author(ALICE)
    assert [(p.start, p.end, p.commits) for p in short.activity.periods] == [
        (date(2024, 3, 4), date(2024, 3, 12), 5)]


def test_monthly_periods(team_repo: Path) -> None:
    alice = read_history(team_repo, period="month").author(ALICE)
    (march,) = alice.activity.periods
    assert (march.label, march.start, march.end, march.commits) == (
        "2024-03", date(2024, 3, 4), date(2024, 3, 17), 5)


def test_unknown_author_names_the_closest(team_repo: Path) -> None:
    history = read_history(team_repo)
    with pytest.raises(UnknownAuthorError, match=r"Did you mean alice@example\.com\?"):
        history.author("alice@exmaple.com")
    with pytest.raises(UnknownAuthorError, match=r"Authors with most commits: alice@"):
        history.author("nobody@example.com")


def test_a_window_without_commits(team_repo: Path) -> None:
    history = read_history(team_repo, since=date(2030, 1, 1))
    assert history.authors == {} and history.commits == 0
    with pytest.raises(UnknownAuthorError, match="no commits"):
        history.author(ALICE)


def test_bad_input_is_refused_before_git_runs(tmp_path: Path, team_repo: Path) -> None:
    with pytest.raises(NotARepositoryError, match="is not a git repository"):
        read_history(tmp_path)
    with pytest.raises(NotARepositoryError, match="does not exist"):
        read_history(tmp_path / "missing")
    with pytest.raises(InvalidInputError, match="before since"):
        read_history(team_repo, since=date(2024, 3, 10), until=date(2024, 3, 1))
    with pytest.raises(InvalidInputError, match="not a revision"):
        read_history(team_repo, rev="--output=/tmp/x")
    with pytest.raises(GitError, match="'no-such-branch' is not a commit of"):
        read_history(team_repo, rev="no-such-branch")


def test_git_missing_names_the_fix(team_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GitNotFoundError, match="install git"):
        read_history(team_repo)


def test_odd_paths_and_many_files(tmp_path: Path) -> None:
    repo = build(tmp_path / "odd", [
        Commit("Eve", "eve@example.com", "2024-05-06T12:00:00+00:00",
               {"dir with space/na\u00efve\tname.py": lines(3), "x/y.go": lines(2)}),
        Commit("Eve", "eve@example.com", "2024-05-07T12:00:00+00:00",
               {"dir with space/na\u00efve\tname.py": None}),
    ])
    eve = read_history(repo).author("eve@example.com")
    (week,) = eve.activity.periods
    assert week.lines_by_language == {"Python": 6, "Go": 2}  # 3 added, then 3 deleted
    assert (week.lines_added, week.lines_deleted, week.files_touched) == (5, 3, 2)


def test_read_blobs_reads_small_files_only(team_repo: Path) -> None:
    alice = read_history(team_repo).author(ALICE)
    app = next(f for f in alice.files if f.path == "api/app.py")
    assert app.sample_commit is not None
    ok, missing, big = read_blobs(team_repo, [(app.sample_commit, "api/app.py"),
                                              (app.sample_commit, "nope.py"),
                                              ("HEAD", "api/app.py")], max_bytes=300)
    assert ok.status == "ok" and ok.data.startswith(b"from fastapi import FastAPI")
    assert missing.status == "missing"
    big_ok = read_blobs(team_repo, [("HEAD", "api/app.py")], max_bytes=10)
    assert big.status == "ok" and big_ok[0].status == "too_large"
    assert big_ok[0].size == len(ok.data) and big_ok[0].data == b""


def test_merges_are_left_out_unless_asked_for(tmp_path: Path) -> None:
    repo = build(tmp_path / "merged", [
        Commit("Gus", "gus@example.com", "2024-05-06T10:00:00+00:00", {"a.py": lines(2)})])
    env = {"GIT_AUTHOR_NAME": "Gus", "GIT_AUTHOR_EMAIL": "gus@example.com",
           "GIT_AUTHOR_DATE": "2024-05-07T10:00:00+00:00",
           "GIT_COMMITTER_DATE": "2024-05-07T10:00:00+00:00"}
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "b.py").write_text(lines(3))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature", env=env)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "feature", env=env)
    plain = read_history(repo).author("gus@example.com")
    assert (plain.figures.commits, plain.figures.lines_added) == (2, 5)
    merges = read_history(repo, include_merges=True).author("gus@example.com")
    assert (merges.figures.commits, merges.figures.lines_added) == (3, 5)  # no lines of its own


def test_a_repository_without_commits(tmp_path: Path) -> None:
    repo = build(tmp_path / "empty", [])
    with pytest.raises(GitError, match="has no commits yet"):
        read_history(repo)
