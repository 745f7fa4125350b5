"""Real history is written by anyone with commit access: every byte git allows in a name, an
address or an author line is read, shown as text (never markup, never a terminal sequence) and
kept exact in JSON; report files never collide and never outgrow the file system.

Each case has a repository of its own, next to an ordinary author, so that each test shows one
way a real history used to break the profile commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from aexy.apps import read_history, report_file_name
from aexy.cli import AexyGroup

from .repos import GIT_ENV, Commit, build, git, lines

SEPARATORS = "Un\x1fit\x1eSep"  # the old reader's field and commit separators
MARKUP = "Mark [/] [bold]up[/bold]"
ESCAPES = "Eve \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[31mRed\x1b[0m"
LONG = "l" * 300 + "@example.com"


def _repo(root: Path, *commits: Commit) -> Path:
    return build(root, [Commit("Plain Person", "plain@example.com", "2024-03-04T10:00:00+00:00",
                               {"app/main.py": lines(20)}), *commits])


def _one(name: str, email: str, path: str = "app/x.py") -> Commit:
    return Commit(name, email, "2024-03-05T10:00:00+00:00", {path: lines(5)})


def _raw_commit(repo: Path, author_line: str,
                committer_line: str = "C <c@example.com> 1710000000 +0000") -> None:
    """A commit object written as it is (git hash-object --literally) on top of HEAD: what
    other tools and old gits have written into real histories."""
    def rev(name: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", name], capture_output=True,
                              text=True, check=True).stdout.strip()

    body = (f"tree {rev('HEAD^{tree}')}\nparent {rev('HEAD')}\nauthor {author_line}\n"
            f"committer {committer_line}\n\nraw\n")
    sha = subprocess.run(["git", "-C", str(repo), "hash-object", "-t", "commit", "-w",
                          "--literally", "--stdin"], input=body.encode(), capture_output=True,
                         check=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"}
                         ).stdout.decode().strip()
    git(repo, "update-ref", "HEAD", sha)


def test_separator_bytes_in_a_name(cli: AexyGroup, runner: CliRunner, tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", _one(SEPARATORS, "sep\x1f@example.com"))
    author = read_history(repo).author("sep\x1f@example.com")
    assert (author.name, author.figures.commits) == (SEPARATORS, 1)
    result = runner.invoke(cli, ["profile", str(repo), "--all"])
    assert result.exit_code == 0, result.output
    assert "Un\\x1fit\\x1eSep" in result.stdout and "\x1f" not in result.stdout


def test_markup_in_a_name_is_printed_as_written(cli: AexyGroup, runner: CliRunner,
                                                tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", _one(MARKUP, "markup@example.com"))
    team = runner.invoke(cli, ["profile", str(repo), "--all"])
    assert team.exit_code == 0, team.output
    assert f"{MARKUP} <markup@example.com>" in team.stdout
    panel = runner.invoke(cli, ["profile", str(repo), "-a", "markup@example.com"])
    assert panel.exit_code == 0, panel.output
    assert f"{MARKUP} <markup@example.com>" in panel.stdout


def test_a_line_break_in_an_author_line(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r")
    _raw_commit(repo, "Eve <eve@example.com\n> 1710000000 +0000")
    # An author date out of range: the committer date stands in.
    _raw_commit(repo, "Zed <zed@example.com> 99999999999999 +0000")
    # Neither date readable (git prints the epoch for a date it cannot parse).
    _raw_commit(repo, "Yan <yan@example.com> 99999999999999999999 +0000",
                "C <c@example.com> 99999999999999999999 +9999")
    history = read_history(repo)
    assert sorted(u.reason for u in history.unreadable) == [
        "git cannot print its dates (author date '1970-01-01T00:00:00+00:00')",
        "git cannot read its author line"]
    zed = history.author("zed@example.com").figures
    assert (zed.commits, zed.first_commit.isoformat()) == (1, "2024-03-09T16:00:00+00:00")
    assert history.commits == 2 and set(history.authors) == {"plain@example.com",
                                                             "zed@example.com"}


def test_escape_sequences_are_shown_not_obeyed(cli: AexyGroup, runner: CliRunner,
                                               tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", _one(ESCAPES, "escape@example.com"))
    for args in (["--all"], ["-a", "escape@example.com"]):
        result = runner.invoke(cli, ["profile", str(repo), *args])
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout
        assert "\\x1b]8;;http://evil.example\\x1b\\click" in result.stdout
    exact = runner.invoke(cli, ["profile", str(repo), "-a", "escape@example.com", "--json"])
    assert json.loads(exact.stdout)["name"] == ESCAPES  # exact, JSON-escaped (\u001b)
    assert "\x1b" not in exact.stdout
    unknown = runner.invoke(cli, ["profile", str(repo), "-a", "nobody\x1b[2J@x"])
    assert unknown.exit_code == 1
    assert "\x1b" not in unknown.stderr and "'nobody\\x1b[2J@x'" in unknown.stderr


def test_report_files_never_collide(cli: AexyGroup, runner: CliRunner, tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", _one("Slash", "a/b@example.com", "app/s.py"),
                 _one("Underscore", "a_b@example.com", "app/u.py"))
    out = tmp_path / "reports"
    result = runner.invoke(cli, ["profile", str(repo), "--all", "-o", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3
    assert {report_file_name("a/b@example.com"), report_file_name("a_b@example.com")} < set(names)


def test_a_long_address_gets_a_bounded_file_name(cli: AexyGroup, runner: CliRunner,
                                                 tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", _one("Long Address", LONG))
    out = tmp_path / "reports"
    result = runner.invoke(cli, ["profile", str(repo), "--all", "-o", str(out)])
    assert result.exit_code == 0, result.output
    name = report_file_name(LONG)
    assert (out / name).exists() and len(name.encode()) <= 100
    assert json.loads((out / name).read_text())["developer_id"] == LONG
