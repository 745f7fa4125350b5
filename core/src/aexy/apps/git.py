"""Activity from a repository's history, read with the ``git`` program.

:func:`read_history` streams ``git log --numstat`` once and folds each commit into per-author
figures as it goes, so memory grows with authors, active weeks and files, not with commits.
What it measures, per author and period (a week by default):

- commits (merges left out: they carry no lines of their own), lines added and deleted, lines
  changed per language (by file extension; vendored and generated files left out), distinct
  files touched, days with a commit;
- the after-hours share (weekdays outside 08:00-19:00) and the weekend share of the commits, in
  the author's own time zone as recorded in each commit;
- the code areas each author changed (directories and files that exist at the analysed
  revision), by volume and by recency.

Only periods with activity are stored; :attr:`AuthorHistory.activity` lists them (quiet weeks
are zero, as the data says) and :meth:`AuthorHistory.series` lists every week.

Author aliases merge through git's own mailmap support (``.mailmap``, ``mailmap.file``: the
``%aN``/``%aE`` placeholders) and through explicit ``aliases`` (email -> email). Everything
here is a figure git records; hours, reviews and pages are not in a repository and stay
``None`` ("not measured") in the :class:`~aexy.catalogue.activity.DeveloperActivity` built.

Any byte git allows in a name, an address or a path is read: fields are separated by NUL, the
one byte git never stores in them, and a commit whose dates git cannot print is listed in
:attr:`GitHistory.unreadable` instead of breaking the run.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Literal, cast

from pydantic import BaseModel, ConfigDict

from aexy.apps.sources import is_vendored_or_generated, language_of
from aexy.apps.text import printable
from aexy.catalogue.activity import (
    ActivityPeriod,
    CodeArea,
    DeveloperActivity,
    PeriodLength,
    period_cells,
    period_start,
)
from aexy.errors import AexyError, ConfigurationError, InvalidInputError

__all__ = [
    "AREA_HALF_LIFE_DAYS",
    "ActivityFigures",
    "AuthorHistory",
    "Blob",
    "BlobReader",
    "FileChurn",
    "GitError",
    "GitHistory",
    "GitNotFoundError",
    "NotARepositoryError",
    "Period",
    "UnknownAuthorError",
    "UnreadableCommit",
    "read_blobs",
    "read_history",
]

Period = PeriodLength

#: Working hours, local time, on weekdays: a commit outside them is after hours.
WORKDAY_START, WORKDAY_END = time(8, 0), time(19, 0)
#: Recency of code areas: a line changed this many days before the end of the window counts
#: half (two half-lives, a quarter). A year: code knowledge fades over releases, not weeks.
AREA_HALF_LIFE_DAYS = 365
#: One commit's header: a marker and the hash, then author date, committer date, mailmapped
#: name and email, raw email, each its own NUL-separated field (NUL cannot occur in them).
_FORMAT = "%x1e%H%x00%aI%x00%cI%x00%aN%x00%aE%x00%ae"
#: What git prints for a placeholder it cannot fill (an author line it cannot parse).
_UNFILLED = {b"%aN", b"%aE", b"%ae", b"%aI", b"%cI"}
#: Settings of the user's git config that would change what ``git log`` prints.
_CONFIG = ("-c", "log.showSignature=false", "-c", "core.quotepath=false",
           "-c", "color.ui=never")
_CHUNK = 1 << 16
_WORKING, _AFTER_HOURS, _WEEKEND = 0, 1, 2


class GitError(AexyError):
    """``git`` failed; the message carries what it said."""


class GitNotFoundError(GitError, ConfigurationError):
    """The ``git`` program is not installed or not on ``PATH``."""

    def __init__(self) -> None:
        super().__init__("the git program was not found on PATH; install git (e.g. "
                         "apt-get install git, brew install git) to read a repository's history")


class NotARepositoryError(GitError, InvalidInputError):
    """The path is not inside a git repository."""


class UnknownAuthorError(InvalidInputError):
    """No author of the history matches; the message names the closest ones."""


# -- results ---------------------------------------------------------------------------------------
class ActivityFigures(BaseModel):
    """One author's totals over the whole window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commits: int
    first_commit: datetime
    last_commit: datetime
    active_days: int
    active_weeks: int = 0
    lines_added: int
    lines_deleted: int
    lines_by_language: dict[str, int]
    files_touched: int
    after_hours_commits: int
    weekend_commits: int
    after_hours_share: float
    weekend_share: float


@dataclass(frozen=True, slots=True)
class FileChurn:
    """One file as one author changed it: lines changed in total, and the newest commit where
    the author added lines to it (with the file's path at that commit), the best sample of
    their own writing."""

    path: str
    language: str | None
    lines: int
    commits: int
    binary: bool
    vendored: bool
    sample_commit: str | None
    sample_path: str | None
    last_changed: date | None = None


@dataclass(frozen=True, slots=True)
class UnreadableCommit:
    """A commit left out of the figures, and why (e.g. a date git cannot print)."""

    sha: str
    reason: str


@dataclass(slots=True)
class _PeriodAcc:
    commits: int = 0
    added: int = 0
    deleted: int = 0
    after_hours: int = 0
    weekend: int = 0
    by_language: Counter[str] = field(default_factory=Counter)
    files: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)

    def plus(self, other: _PeriodAcc) -> _PeriodAcc:
        return _PeriodAcc(
            commits=self.commits + other.commits, added=self.added + other.added,
            deleted=self.deleted + other.deleted, after_hours=self.after_hours + other.after_hours,
            weekend=self.weekend + other.weekend, by_language=self.by_language + other.by_language,
            files=self.files | other.files, days=self.days | other.days)

    def period(self, start: date, end: date, label: str) -> ActivityPeriod:
        return ActivityPeriod(
            start=start, end=end, label=label, commits=self.commits,
            lines_added=self.added, lines_deleted=self.deleted,
            lines_by_language=dict(self.by_language.most_common()),
            files_touched=len(self.files), active_days=len(self.days),
            after_hours_share=round(self.after_hours / self.commits, 4) if self.commits
            else None,
            weekend_share=round(self.weekend / self.commits, 4) if self.commits else None)


@dataclass(slots=True)
class _AreaAcc:
    lines: int = 0
    #: Sum over commits of log2(1 + lines) x 2**((day - anchor) / half-life); scaled to the
    #: window's end when read.
    weight: float = 0.0
    commits: int = 0
    last: date | None = None


class AuthorHistory:
    """One author (aliases merged): identity, totals, active periods, files and code areas."""

    __slots__ = ("_acc", "_activity", "_areas", "_history", "email", "emails", "figures",
                 "files", "name", "names")

    def __init__(self, history: _HistoryContext, key: str, acc: _AuthorAcc,
                 figures: ActivityFigures, files: tuple[FileChurn, ...]) -> None:
        self._history = history
        self._acc = acc
        self._activity: DeveloperActivity | None = None
        self._areas: dict[str, _AreaAcc] | None = None
        #: The author's key: email after .mailmap and aliases, case-folded.
        self.email = key
        self.name = acc.name
        #: Every address and name seen for this author before merging, newest first.
        self.emails: tuple[str, ...] = tuple(acc.emails)
        self.names: tuple[str, ...] = tuple(acc.names)
        self.figures = figures
        #: Most lines changed first.
        self.files = files

    def __repr__(self) -> str:
        return (f"AuthorHistory({printable(self.email)!r}, commits={self.figures.commits}, "
                f"last={self.figures.last_commit:%Y-%m-%d})")

    @property
    def first_day(self) -> date:
        """The first day of this author's periods: their first period, cut to the window."""
        return max(self._history.start, period_start(self.figures.first_commit.date(),
                                                     self._history.period))

    @property
    def activity(self) -> DeveloperActivity:
        """The periods with activity (``quiet_periods="omitted"``): every other period of the
        window, from the author's first period to the end, had no commit."""
        if self._activity is None:
            h = self._history
            periods = []
            for first, last, label, starts in period_cells(self.first_day, h.end, h.period):
                accs = [a for s in starts if (a := self._acc.periods.get(s)) is not None]
                if accs:
                    acc = accs[0] if len(accs) == 1 else accs[0].plus(accs[1])
                    periods.append(acc.period(first, last, label))
            self._activity = DeveloperActivity(
                developer_id=self.email, periods=periods, window_start=self.first_day,
                window_end=h.end, period=h.period, quiet_periods="omitted")
        return self._activity

    def series(self) -> DeveloperActivity:
        """Every period from the author's first to the end of the window, quiet ones with zero
        commits (``quiet_periods="listed"``)."""
        return self.activity.with_quiet_periods()

    def commits_since(self, day: date) -> tuple[int, int, int]:
        """(commits, after-hours commits, weekend commits) from ``day`` on."""
        commits = after = weekend = 0
        start = day.toordinal() * 4
        for k, count in self._acc.day_kinds.items():
            if k >= start:
                commits += count
                after += count if k % 4 == _AFTER_HOURS else 0
                weekend += count if k % 4 == _WEEKEND else 0
        return commits, after, weekend

    def area_figures(self) -> Mapping[str, _AreaAcc]:
        """Code area -> this author's figures there (areas that exist at the revision)."""
        return self._acc.areas

    def code_areas(self, totals: Mapping[str, float] | None = None, *,
                   limit: int = 30) -> list[CodeArea]:
        """The code areas this author changed, by weight (see
        :class:`~aexy.catalogue.activity.CodeArea`), most first; with ``totals`` (area ->
        everyone's weight), their share of each. A directory whose changes all sit in one of
        its children is left out (the child says more)."""
        scale = self._history.recency_scale
        items = sorted(self._acc.areas.items(), key=lambda kv: (-kv[1].weight, kv[0]))
        covered = _covered(self._acc.areas)
        chosen: list[CodeArea] = []
        for path, acc in items:
            if len(chosen) >= limit:
                break
            if path in covered:
                continue
            assert acc.last is not None
            weight = acc.weight * scale
            total = totals.get(path) if totals is not None else None
            chosen.append(CodeArea(
                path=path, lines=acc.lines, weight=round(weight, 2), commits=acc.commits,
                last_changed=acc.last,
                share=round(min(1.0, weight / total), 4) if total else None))
        return chosen


def _covered(areas: Mapping[str, _AreaAcc]) -> set[str]:
    """Directories whose changes all sit in one of their children (a file or a directory):
    the same lines in the same commits."""
    out = set()
    for path, acc in areas.items():
        parent = path.rstrip("/").rpartition("/")[0]
        if parent:
            above = areas.get(parent + "/")
            if above is not None and above.lines == acc.lines and above.commits == acc.commits:
                out.add(parent + "/")
    return out


@dataclass(frozen=True, slots=True)
class _HistoryContext:
    start: date
    end: date
    period: Period
    #: Multiplies an area's accumulated recency to weigh it at the end of the window.
    recency_scale: float


@dataclass(frozen=True, slots=True)
class GitHistory:
    """What :func:`read_history` read: the window and each author, most commits first."""

    repository: str
    start: date | None
    end: date | None
    period: Period
    commits: int
    authors: Mapping[str, AuthorHistory]
    #: Top-level directory (that exists at the revision) -> the authors who changed it.
    area_owners: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: The commit whose history was read (``rev`` resolved).
    revision: str = ""
    #: Files that exist at the revision (``None``: not listed).
    paths: frozenset[str] | None = None
    #: Commits left out, with the reason.
    unreadable: tuple[UnreadableCommit, ...] = ()
    half_life_days: int = AREA_HALF_LIFE_DAYS

    def author(self, who: str) -> AuthorHistory:
        """The author with email, alias email or name ``who`` (case-insensitive)."""
        key = who.strip().casefold()
        if key in self.authors:
            return self.authors[key]
        for history in self.authors.values():
            if key in (e.casefold() for e in history.emails) or key in (
                    n.casefold() for n in history.names):
                return history
        window = _window_text(self.start, self.end)
        if not self.authors:
            raise UnknownAuthorError(f"no commits in {self.repository}{window}; check the "
                                     "repository and --since/--until")
        close = difflib.get_close_matches(key, list(self.authors), n=2, cutoff=0.85)
        listed = ", ".join(f"{printable(a.email)} ({a.figures.commits})"
                           for a in list(self.authors.values())[:5])
        hint = (f" Did you mean {' or '.join(printable(c) for c in close)}?" if close else "")
        raise UnknownAuthorError(
            f"no author '{printable(who)}' in {self.repository}{window}.{hint} Authors with "
            f"most commits: {listed}")

    def area_totals(self, exclude: frozenset[str] = frozenset()) -> dict[str, float]:
        """Code area -> everyone's weight there (authors in ``exclude`` left out), the
        denominator of :attr:`CodeArea.share`."""
        totals: dict[str, float] = {}
        for key, author in self.authors.items():
            if key in exclude:
                continue
            scale = author._history.recency_scale
            for path, acc in author.area_figures().items():
                totals[path] = totals.get(path, 0.0) + acc.weight * scale
        return totals


def _window_text(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return ""
    if end is None:
        return f" from {start} on"
    if start is None:
        return f" up to {end}"
    return f" between {start} and {end}"


# -- running git -----------------------------------------------------------------------------------
def _git() -> str:
    exe = shutil.which("git")
    if exe is None:
        raise GitNotFoundError()
    return exe


def _check_repository(repo: Path, rev: str) -> str:
    """The commit ``rev`` names; a clear error for a path that is no repository, and for a
    revision with no commit."""
    if not repo.exists():
        raise NotARepositoryError(f"{repo} does not exist")

    def rev_parse(*args: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run([_git(), "-C", str(repo), "rev-parse", *args],
                                  capture_output=True, check=False, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise GitError(f"could not run git: {exc}") from None

    done = rev_parse("--git-dir")
    if done.returncode != 0:
        raise NotARepositoryError(
            f"{repo} is not a git repository (git: "
            f"{done.stderr.decode(errors='replace').strip() or 'rev-parse failed'})")
    found = rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0:
        raise GitError(f"{repo} has no commits yet" if rev == "HEAD" else
                       f"{rev!r} is not a commit of {repo}; give a branch, tag or commit")
    return found.stdout.decode().strip()


def _tracked_paths(repo: Path, revision: str) -> frozenset[str]:
    """The files that exist at ``revision``."""
    done = subprocess.run([_git(), "-C", str(repo), *_CONFIG, "ls-tree", "-r", "-z",
                           "--name-only", revision], capture_output=True, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise GitError(f"git ls-tree failed (exit {done.returncode}): "
                       f"{done.stderr.decode(errors='replace').strip()}")
    return frozenset(p.decode("utf-8", "replace") for p in done.stdout.split(b"\0") if p)


def _stream(args: Sequence[str]) -> Iterator[bytes]:
    """The NUL-separated fields of a git command's output, read as it runs; a failing git
    raises :class:`GitError` with its message after the output it gave."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: git never blocks on stderr
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.DEVNULL)
        out: IO[bytes] = proc.stdout  # type: ignore[assignment]
        finished = False
        try:
            rest = b""
            while chunk := out.read(_CHUNK):
                parts = (rest + chunk).split(b"\0")
                rest = parts.pop()
                yield from parts
            if rest:
                yield rest
            finished = True
        finally:
            if not finished:
                proc.kill()  # the reader stopped early
            out.close()
            code = proc.wait()
        if code != 0:
            err.seek(0)
            message = " ".join(err.read().decode(errors="replace").split())
            raise GitError(f"git log failed (exit {code}): {message}")


# -- folding commits -------------------------------------------------------------------------------
@dataclass(slots=True)
class _FileAcc:
    lines: int = 0
    commits: int = 0
    binary: bool = False
    sample_commit: str | None = None
    sample_path: str | None = None
    last: date | None = None


@dataclass(slots=True)
class _AuthorAcc:
    name: str
    emails: dict[str, None] = field(default_factory=dict)
    names: dict[str, None] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    periods: dict[date, _PeriodAcc] = field(default_factory=dict)
    files: dict[str, _FileAcc] = field(default_factory=dict)
    areas: dict[str, _AreaAcc] = field(default_factory=dict)
    #: day ordinal * 4 + kind (working, after hours, weekend) -> commits
    day_kinds: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Kind:
    language: str | None
    vendored: bool
    #: Code areas the file belongs to: its directories and itself, when it exists at the
    #: revision and is not vendored.
    areas: tuple[str, ...]


def _areas_of(path: str) -> tuple[str, ...]:
    parts = path.split("/")
    return (*("/".join(parts[:i]) + "/" for i in range(1, len(parts))), path)


class _Folder:
    """Folds commits (newest first, as git log gives them) into per-author figures."""

    def __init__(self, period: Period, since: date | None, until: date | None,
                 aliases: Mapping[str, str], paths: frozenset[str] | None,
                 half_life_days: int) -> None:
        self.period = period
        self.since, self.until = since, until
        self.aliases = {k.strip().casefold(): v.strip() for k, v in aliases.items()}
        self.paths = paths
        self.half_life = float(half_life_days)
        self.authors: dict[str, _AuthorAcc] = {}
        self.renamed_to: dict[str, str] = {}  # older path -> its newest name
        self.kinds: dict[str, _Kind] = {}
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.anchor: int | None = None  # day ordinal recency weights are relative to
        self.commits = 0
        self.unreadable: list[UnreadableCommit] = []

    def identity(self, email: str, name: str) -> str:
        mapped = self.aliases.get(email.casefold(), email)
        return (mapped or name).casefold()

    def current_name(self, path: str) -> str:
        return self.renamed_to.get(path, path)

    def kind(self, path: str) -> _Kind:
        kind = self.kinds.get(path)
        if kind is None:
            vendored = is_vendored_or_generated(path)
            exists = self.paths is None or path in self.paths
            kind = self.kinds[path] = _Kind(language_of(path), vendored,
                                            _areas_of(path) if exists and not vendored else ())
        return kind

    def add(self, sha: str, key: str, name: str, raw_email: str, when: datetime,
            files: list[tuple[int, int, str, str, bool]]) -> None:
        day = when.date()
        if (self.since is not None and day < self.since) or (
                self.until is not None and day > self.until):
            return
        self.commits += 1
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        if self.last_day is None or day > self.last_day:
            self.last_day = day
        ordinal = day.toordinal()
        if self.anchor is None:
            self.anchor = ordinal
        recency = math.exp2((ordinal - self.anchor) / self.half_life)
        author = self.authors.get(key)
        if author is None:
            author = self.authors[key] = _AuthorAcc(name=name)
        author.emails[raw_email] = None
        author.names[name] = None
        if author.first is None or when < author.first:
            author.first = when
        if author.last is None or when > author.last:
            author.last = when
        start = period_start(day, self.period)
        acc = author.periods.get(start)
        if acc is None:
            acc = author.periods[start] = _PeriodAcc()
        acc.commits += 1
        acc.days.add(day)
        local = when.time()
        if when.weekday() >= 5:
            acc.weekend += 1
            kind_code = _WEEKEND
        elif local < WORKDAY_START or local >= WORKDAY_END:
            acc.after_hours += 1
            kind_code = _AFTER_HOURS
        else:
            kind_code = _WORKING
        author.day_kinds[ordinal * 4 + kind_code] += 1
        # Plain locals and dict lookups: this loop runs for every file of every commit.
        in_areas: Counter[str] = Counter()
        kinds, author_files, period_files = self.kinds, author.files, acc.files
        added_sum = deleted_sum = 0
        for added, deleted, path, at_commit, binary in files:
            changed = added + deleted
            added_sum += added
            deleted_sum += deleted
            period_files.add(at_commit)
            kind = kinds.get(path) or self.kind(path)
            if kind.language is not None and not binary and not kind.vendored:
                acc.by_language[kind.language] += changed
            f = author_files.get(path)
            if f is None:
                f = author_files[path] = _FileAcc(last=day)
            f.lines += changed
            f.commits += 1
            if binary:
                f.binary = True
            elif f.sample_commit is None and added > 0:
                f.sample_commit, f.sample_path = sha, at_commit  # newest first: the latest
            for area in kind.areas:
                in_areas[area] += changed
        acc.added += added_sum
        acc.deleted += deleted_sum
        for area, changed in in_areas.items():
            a = author.areas.get(area)
            if a is None:
                a = author.areas[area] = _AreaAcc(last=day)
            a.lines += changed
            a.commits += 1
            # Knowledge grows with each change, not in proportion to its size: a
            # 10,000-line data file added once must not outweigh a module changed every week.
            a.weight += math.log2(1 + changed) * recency

    def history(self, repository: str, revision: str) -> GitHistory:
        start = self.since or self.first_day
        end = self.until or self.last_day
        authors: dict[str, AuthorHistory] = {}
        owners: dict[str, set[str]] = {}
        if start is not None and end is not None:
            scale = (math.exp2((self.anchor - end.toordinal()) / self.half_life)
                     if self.anchor is not None else 1.0)
            context = _HistoryContext(start=start, end=end, period=self.period,
                                      recency_scale=scale)
            for key, acc in self.authors.items():
                authors[key] = self._author(context, key, acc)
                for area in acc.areas:
                    if area.count("/") == 1 and area.endswith("/"):
                        owners.setdefault(area[:-1], set()).add(key)
        ordered = dict(sorted(authors.items(), key=lambda kv: (-kv[1].figures.commits, kv[0])))
        return GitHistory(repository=repository, start=start, end=end, period=self.period,
                          commits=self.commits, authors=ordered,
                          area_owners={a: frozenset(o) for a, o in sorted(owners.items())},
                          revision=revision, paths=self.paths,
                          unreadable=tuple(self.unreadable),
                          half_life_days=int(self.half_life))

    def _author(self, context: _HistoryContext, key: str, acc: _AuthorAcc) -> AuthorHistory:
        assert acc.first is not None
        assert acc.last is not None
        every = list(acc.periods.values())
        commits = sum(p.commits for p in every)
        after = sum(p.after_hours for p in every)
        weekend = sum(p.weekend for p in every)
        by_language: Counter[str] = Counter()
        for p in every:
            by_language.update(p.by_language)
        figures = ActivityFigures(
            commits=commits, first_commit=acc.first, last_commit=acc.last,
            active_days=sum(len(p.days) for p in every),
            active_weeks=len({period_start(d, "week") for p in every for d in p.days}),
            lines_added=sum(p.added for p in every), lines_deleted=sum(p.deleted for p in every),
            lines_by_language=dict(by_language.most_common()),
            files_touched=len(acc.files), after_hours_commits=after, weekend_commits=weekend,
            after_hours_share=round(after / commits, 4), weekend_share=round(weekend / commits, 4))
        files = tuple(sorted(
            (FileChurn(path=path, language=self.kinds[path].language, lines=f.lines,
                       commits=f.commits, binary=f.binary, vendored=self.kinds[path].vendored,
                       sample_commit=f.sample_commit, sample_path=f.sample_path,
                       last_changed=f.last)
             for path, f in acc.files.items()),
            key=lambda f: (-f.lines, f.path)))
        return AuthorHistory(context, key, acc, figures, files)


def _parse_count(raw: bytes) -> tuple[int, bool]:
    """A numstat count; ``-`` (a binary file) is 0 lines and marks the file binary."""
    return (0, True) if raw == b"-" else (int(raw), False)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


#: What git prints for a date it cannot parse (a timestamp that overflows, for one).
_EPOCH = b"1970-01-01T00:00:00+00:00"


def _when(author_date: bytes, committer_date: bytes) -> datetime | None:
    """The author date, else the committer date; ``None`` when git could print neither
    (a malformed or out-of-range date in the commit object)."""
    for raw in (author_date, committer_date):
        if raw and raw not in _UNFILLED and raw != _EPOCH:
            try:
                return datetime.fromisoformat(raw.decode("ascii", "replace"))
            except ValueError:
                continue
    return None


def _fold(tokens: Iterator[bytes], folder: _Folder) -> None:
    """Fold the fields of ``git log -z --numstat --format=<_FORMAT>`` into ``folder``."""
    header: tuple[str, str, str, str, datetime] | None = None
    files: list[tuple[int, int, str, str, bool]] = []

    def flush() -> None:
        if header is not None:
            sha, key, name, raw_email, when = header
            folder.add(sha, key, name, raw_email, when, files)

    for token in tokens:
        tok = token[1:] if token[:1] == b"\n" else token
        if tok[:1] == b"\x1e":
            flush()
            files = []
            # The header's fields, in order, whatever bytes they hold.
            fields = [next(tokens, None) for _ in range(5)]
            if fields[-1] is None:  # the output ended in the middle of a header
                raise GitError("git log ended in the middle of a commit header")
            a_date, c_date, name_raw, email_raw, raw_email = cast("list[bytes]", fields)
            sha = _text(tok[1:])
            when = _when(a_date, c_date)
            header = None
            if name_raw in _UNFILLED and email_raw in _UNFILLED:
                # git prints the placeholders themselves when it cannot parse the author line
                # (a line break or a missing bracket in it): nobody to count the commit for.
                folder.unreadable.append(UnreadableCommit(
                    sha, "git cannot read its author line"))
            elif when is None:
                folder.unreadable.append(UnreadableCommit(
                    sha, f"git cannot print its dates (author date {_text(a_date)!r})"))
            else:
                name = _text(name_raw)
                header = (sha, folder.identity(_text(email_raw), name), name,
                          "" if raw_email in _UNFILLED else _text(raw_email), when)
            continue
        if not tok or header is None:
            continue
        added_raw, deleted_raw, raw_path = tok.split(b"\t", 2)
        added, binary = _parse_count(added_raw)
        deleted, _ = _parse_count(deleted_raw)
        if raw_path:
            at_commit = _text(raw_path)
            path = folder.current_name(at_commit)
        else:  # a rename: the old and the new path follow as fields of their own
            old = _text(next(tokens))
            at_commit = _text(next(tokens))
            path = folder.current_name(at_commit)
            # Older commits name the file by its old path: count them under the newest name.
            folder.renamed_to[old] = path
        files.append((added, deleted, path, at_commit, binary))
    flush()


def read_history(
    repo: str | os.PathLike[str],
    *,
    since: date | None = None,
    until: date | None = None,
    period: Period = "week",
    aliases: Mapping[str, str] | None = None,
    rev: str = "HEAD",
    include_merges: bool = False,
    half_life_days: int = AREA_HALF_LIFE_DAYS,
) -> GitHistory:
    """Read the history of ``rev`` in ``repo`` into per-author activity.

    :param since: first day (the author's local date) to count; ``None`` from the first commit.
    :param until: last day to count; ``None`` up to the newest commit. An author's periods run
        from their first period to ``until`` (or the newest commit): weeks in which they went
        quiet while others kept committing are weeks without commits.
    :param period: ``"week"`` (Monday to Sunday) or ``"month"``; the first and last periods are
        cut to the window.
    :param aliases: email -> the email it should count as (after ``.mailmap``).
    :param rev: the revision whose history is read (a branch, a tag, ``HEAD``).
    :param include_merges: count merge commits too (they add no lines).
    :param half_life_days: recency of code areas: a line changed this many days before the end
        of the window weighs half.
    :raises GitNotFoundError: git is not installed.
    :raises NotARepositoryError: ``repo`` is not in a git repository.
    :raises GitError: ``git log`` failed (e.g. an unknown ``rev``, or a repository without
        commits).
    """
    if since is not None and until is not None and until < since:
        raise InvalidInputError(f"until ({until}) is before since ({since})")
    if period not in ("week", "month"):
        raise InvalidInputError(f"period must be 'week' or 'month', not {period!r}")
    if rev.startswith("-"):
        raise InvalidInputError(f"{rev!r} is not a revision")
    if half_life_days < 1:
        raise InvalidInputError("half_life_days must be 1 or more")
    path = Path(repo)
    revision = _check_repository(path, rev)
    args = [_git(), "-C", str(path), *_CONFIG, "log", "-z", "--numstat", "--find-renames",
            "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
            f"--format={_FORMAT}"]
    if not include_merges:
        args.append("--no-merges")
    if since is not None:
        # git filters by committer date in its own reading of the date; two days of slack,
        # and the exact cut on the author's local date is made here.
        args.append(f"--since={since - timedelta(days=2)}T00:00:00")
    args += [revision, "--"]
    folder = _Folder(period, since, until, aliases or {}, _tracked_paths(path, revision),
                     half_life_days)
    _fold(_stream(args), folder)
    return folder.history(str(repo), revision)


# -- file contents ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Blob:
    """A file's content at a commit, or why it is not there."""

    status: Literal["ok", "missing", "too_large"]
    size: int = 0
    data: bytes = b""


class BlobReader:
    """File contents at commits through two long-lived ``git cat-file`` processes (sizes
    first, so no file over ``max_bytes`` is ever read), for a whole job. Thread-safe; close
    it (or use it as a context manager) when done."""

    def __init__(self, repo: str | os.PathLike[str]) -> None:
        exe = _git()
        self._lock = threading.Lock()
        self._check = subprocess.Popen([exe, "-C", str(repo), "cat-file", "--batch-check"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        self._batch = subprocess.Popen([exe, "-C", str(repo), "cat-file", "--batch"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in (self._check, self._batch):
            if proc.stdin is not None and not proc.stdin.closed:
                with contextlib.suppress(OSError):  # the process is gone already
                    proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    @staticmethod
    def _ask(proc: subprocess.Popen[bytes], line: bytes) -> bytes:
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(line)
            proc.stdin.flush()
        except OSError as exc:
            raise GitError(f"git cat-file stopped: {exc}") from None
        answer = proc.stdout.readline()
        if not answer:
            raise GitError("git cat-file stopped answering")
        return answer

    def read(self, commit: str, path: str, *, max_bytes: int) -> Blob:
        """The content of ``path`` at ``commit``."""
        if "\n" in path or "\n" in commit:
            return Blob("missing")  # the batch protocol is line-based
        with self._lock:
            answer = self._ask(self._check, f"{commit}:{path}\n".encode())
            parts = answer.rstrip(b"\n").split(b" ")
            if len(parts) != 3 or parts[1] != b"blob":
                return Blob("missing")
            size = int(parts[2])
            if size > max_bytes:
                return Blob("too_large", size=size)
            self._ask(self._batch, parts[0] + b"\n")
            out = self._batch.stdout
            assert out is not None
            data = out.read(size)
            out.read(1)  # the newline after the content
            return Blob("ok", size=size, data=data)


def read_blobs(repo: str | os.PathLike[str], items: Sequence[tuple[str, str]],
               *, max_bytes: int) -> list[Blob]:
    """The contents of ``(commit, path)`` pairs, in order (see :class:`BlobReader`)."""
    if not items:
        return []
    with BlobReader(repo) as reader:
        return [reader.read(commit, path, max_bytes=max_bytes) for commit, path in items]

