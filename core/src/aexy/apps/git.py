"""Activity from a repository's history, read with the ``git`` program.

:func:`read_history` streams ``git log --numstat`` once and folds each commit into per-author,
per-period figures as it goes, so memory grows with authors, periods and files, not with
commits. What it measures, per author and period (a week by default):

- commits (merges left out: they carry no lines of their own), lines added and deleted, lines
  changed per language (by file extension; vendored and generated files left out), distinct
  files touched, days with a commit;
- the after-hours share (weekdays outside 08:00-19:00) and the weekend share of the commits, in
  the author's own time zone as recorded in each commit.

Author aliases merge through git's own mailmap support (``.mailmap``, ``mailmap.file``: the
``%aN``/``%aE`` placeholders) and through explicit ``aliases`` (email -> email). Everything
here is a figure git records; hours, reviews and pages are not in a repository and stay
``None`` ("not measured") in the :class:`~aexy.catalogue.activity.DeveloperActivity` built.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict

from aexy.apps.sources import is_vendored_or_generated, language_of
from aexy.catalogue.activity import ActivityPeriod, DeveloperActivity, TeamMetrics
from aexy.errors import AexyError, ConfigurationError, InvalidInputError

__all__ = [
    "ActivityFigures",
    "AuthorHistory",
    "Blob",
    "FileChurn",
    "GitError",
    "GitHistory",
    "GitNotFoundError",
    "NotARepositoryError",
    "Period",
    "UnknownAuthorError",
    "read_blobs",
    "read_history",
]

Period = Literal["week", "month"]

#: Working hours, local time, on weekdays: a commit outside them is after hours.
WORKDAY_START, WORKDAY_END = time(8, 0), time(19, 0)
#: Fields of one commit header: hash, mailmapped name and email, raw email, author date (ISO
#: 8601 with the author's UTC offset). \x1e starts a commit, \x1f separates fields.
_FORMAT = "%x1e%H%x1f%aN%x1f%aE%x1f%ae%x1f%aI"
#: Settings of the user's git config that would change what ``git log`` prints.
_CONFIG = ("-c", "log.showSignature=false", "-c", "core.quotepath=false",
           "-c", "color.ui=never")
_CHUNK = 1 << 16


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


@dataclass(frozen=True, slots=True)
class AuthorHistory:
    """One author (aliases merged): identity, totals, periods and the files they changed."""

    email: str
    name: str
    #: Every address and name seen for this author before merging, newest first.
    emails: tuple[str, ...]
    names: tuple[str, ...]
    figures: ActivityFigures
    activity: DeveloperActivity
    #: Most lines changed first.
    files: tuple[FileChurn, ...]


@dataclass(frozen=True, slots=True)
class GitHistory:
    """What :func:`read_history` read: the window and each author, most commits first."""

    repository: str
    start: date | None
    end: date | None
    period: Period
    commits: int
    authors: Mapping[str, AuthorHistory]
    #: Top-level directory -> the authors who changed files in it (for ownership figures).
    area_owners: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def author(self, who: str) -> AuthorHistory:
        """The author with email, alias email or name ``who`` (case-insensitive)."""
        key = who.strip().casefold()
        if key in self.authors:
            return self.authors[key]
        for history in self.authors.values():
            if key in (e.casefold() for e in history.emails) or key in (
                    n.casefold() for n in history.names):
                return history
        if not self.authors:
            raise UnknownAuthorError(f"no commits in {self.repository}"
                                     + (f" from {self.start} to {self.end}" if self.start
                                        else "") + "; check the repository and --since/--until")
        close = difflib.get_close_matches(key, list(self.authors), n=2, cutoff=0.85)
        listed = ", ".join(f"{a.email} ({a.figures.commits})"
                           for a in list(self.authors.values())[:5])
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise UnknownAuthorError(
            f"no author {who!r} in {self.repository} between {self.start} and {self.end}."
            f"{hint} Authors with most commits: {listed}")

    def team_metrics(self, team: str | None = None) -> TeamMetrics:
        """The figures of :class:`~aexy.catalogue.activity.TeamMetrics` that history holds:
        size, after-hours and weekend shares, each author's share of the commits, and the
        top-level directories only one author changed. Deploys, incidents, reviews and cycle
        times are not in a repository and stay unmeasured."""
        if not self.authors or self.start is None or self.end is None:
            raise UnknownAuthorError(f"no commits in {self.repository} to measure a team from")
        total = sum(a.figures.commits for a in self.authors.values())
        after = sum(a.figures.after_hours_commits for a in self.authors.values())
        weekend = sum(a.figures.weekend_commits for a in self.authors.values())
        # Rounded down, so the shares never add up to more than 1.
        shares = {a.email: int(a.figures.commits / total * 10_000) / 10_000
                  for a in self.authors.values()}
        single = sorted(area for area, owners in self.area_owners.items() if len(owners) == 1)
        return TeamMetrics(team=team, start=self.start, end=self.end, size=len(self.authors),
                           after_hours_share=round(after / total, 4),
                           weekend_share=round(weekend / total, 4), commit_share=shares,
                           single_owner_areas=single)


# -- running git -----------------------------------------------------------------------------------
def _git() -> str:
    exe = shutil.which("git")
    if exe is None:
        raise GitNotFoundError()
    return exe


def _check_repository(repo: Path, rev: str) -> None:
    """A clear error for a path that is no repository, and for a revision with no commit."""
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
    if rev_parse("--verify", "--quiet", f"{rev}^{{commit}}").returncode != 0:
        raise GitError(f"{repo} has no commits yet" if rev == "HEAD" else
                       f"{rev!r} is not a commit of {repo}; give a branch, tag or commit")


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


@dataclass(frozen=True, slots=True)
class _Span:
    """A period cut to the window: its days, its full length, its label and its figures."""

    start: date
    end: date
    full_days: int
    label: str
    acc: _PeriodAcc

    @property
    def fragment(self) -> bool:
        """Less than half a period: too short to compare with whole ones on its own."""
        return ((self.end - self.start).days + 1) * 2 < self.full_days

    def join(self, later: _Span) -> _Span:
        return _Span(self.start, later.end, self.full_days + later.full_days,
                     f"{self.label}..{later.label}", self.acc.plus(later.acc))

    def period(self) -> ActivityPeriod:
        p = self.acc
        return ActivityPeriod(
            start=self.start, end=self.end, label=self.label, commits=p.commits,
            lines_added=p.added, lines_deleted=p.deleted,
            lines_by_language=dict(p.by_language.most_common()), files_touched=len(p.files),
            active_days=len(p.days),
            after_hours_share=round(p.after_hours / p.commits, 4) if p.commits else None,
            weekend_share=round(p.weekend / p.commits, 4) if p.commits else None)


def _merge_fragments(spans: list[_Span]) -> list[_Span]:
    """A first or last period cut by the window to less than half its length joins its
    neighbour: a one-day "week" would make a weekly rate from one day (seven commits a week
    from one commit, or a collapse to zero from a quiet Monday)."""
    if len(spans) > 1 and spans[-1].fragment:
        spans = [*spans[:-2], spans[-2].join(spans[-1])]
    if len(spans) > 1 and spans[0].fragment:
        spans = [spans[0].join(spans[1]), *spans[2:]]
    return spans


@dataclass(slots=True)
class _FileAcc:
    lines: int = 0
    commits: int = 0
    binary: bool = False
    sample_commit: str | None = None
    sample_path: str | None = None


@dataclass(slots=True)
class _AuthorAcc:
    name: str
    emails: dict[str, None] = field(default_factory=dict)
    names: dict[str, None] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    periods: dict[date, _PeriodAcc] = field(default_factory=dict)
    files: dict[str, _FileAcc] = field(default_factory=dict)


def _period_start(day: date, period: Period) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def _period_end(start: date, period: Period) -> date:
    if period == "week":
        return start + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _label(start: date, period: Period) -> str:
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}"


@dataclass(slots=True)
class _Commit:
    sha: str
    key: str
    name: str
    raw_email: str
    when: datetime
    #: (lines added, lines deleted, path, path at this commit, binary)
    files: list[tuple[int, int, str, str, bool]] = field(default_factory=list)


class _Folder:
    """Folds commits (newest first, as git log gives them) into per-author figures."""

    def __init__(self, period: Period, since: date | None, until: date | None,
                 aliases: Mapping[str, str]) -> None:
        self.period = period
        self.since, self.until = since, until
        self.aliases = {k.strip().casefold(): v.strip() for k, v in aliases.items()}
        self.authors: dict[str, _AuthorAcc] = {}
        self.renamed_to: dict[str, str] = {}  # older path -> its newest name
        self.area_owners: dict[str, set[str]] = {}
        self.kinds: dict[str, tuple[str | None, bool]] = {}  # path -> language, vendored
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.commits = 0

    def identity(self, email: str, name: str) -> str:
        mapped = self.aliases.get(email.casefold(), email)
        return (mapped or name).casefold()

    def current_name(self, path: str) -> str:
        return self.renamed_to.get(path, path)

    def add(self, c: _Commit) -> None:
        day = c.when.date()
        if (self.since is not None and day < self.since) or (
                self.until is not None and day > self.until):
            return
        self.commits += 1
        self.first_day = day if self.first_day is None else min(self.first_day, day)
        self.last_day = day if self.last_day is None else max(self.last_day, day)
        author = self.authors.get(c.key)
        if author is None:
            author = self.authors[c.key] = _AuthorAcc(name=c.name)
        author.emails[c.raw_email] = None
        author.names[c.name] = None
        author.first = c.when if author.first is None else min(author.first, c.when)
        author.last = c.when if author.last is None else max(author.last, c.when)
        start = _period_start(day, self.period)
        acc = author.periods.get(start)
        if acc is None:
            acc = author.periods[start] = _PeriodAcc()
        acc.commits += 1
        acc.days.add(day)
        local = c.when.time()
        if c.when.weekday() >= 5:
            acc.weekend += 1
        elif local < WORKDAY_START or local >= WORKDAY_END:
            acc.after_hours += 1
        for added, deleted, path, at_commit, binary in c.files:
            acc.added += added
            acc.deleted += deleted
            acc.files.add(at_commit)
            kind = self.kinds.get(path)
            if kind is None:
                kind = self.kinds[path] = (language_of(path), is_vendored_or_generated(path))
            language, vendored = kind
            if language is not None and not binary and not vendored:
                acc.by_language[language] += added + deleted
            f = author.files.get(path)
            if f is None:
                f = author.files[path] = _FileAcc()
            f.lines += added + deleted
            f.commits += 1
            f.binary = f.binary or binary
            if f.sample_commit is None and added > 0 and not binary:
                f.sample_commit, f.sample_path = c.sha, at_commit  # newest first: the latest
            if "/" in path and not vendored:
                self.area_owners.setdefault(path.split("/", 1)[0], set()).add(c.key)

    def history(self, repository: str) -> GitHistory:
        start = self.since or self.first_day
        end = self.until or self.last_day
        authors = {}
        if start is not None and end is not None:
            for key, acc in self.authors.items():
                authors[key] = self._author(key, acc, start, end)
        ordered = dict(sorted(authors.items(), key=lambda kv: (-kv[1].figures.commits, kv[0])))
        return GitHistory(repository=repository, start=start, end=end, period=self.period,
                          commits=self.commits, authors=ordered,
                          area_owners={a: frozenset(o) for a, o in self.area_owners.items()})

    def _author(self, key: str, acc: _AuthorAcc, start: date, end: date) -> AuthorHistory:
        assert acc.first is not None
        assert acc.last is not None
        spans: list[_Span] = []
        cursor = _period_start(acc.first.date(), self.period)
        while cursor <= end:
            last_day = _period_end(cursor, self.period)
            spans.append(_Span(max(cursor, start), min(last_day, end),
                               (last_day - cursor).days + 1, _label(cursor, self.period),
                               acc.periods.get(cursor, _PeriodAcc())))
            cursor = last_day + timedelta(days=1)
        periods = [s.period() for s in _merge_fragments(spans)]
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
            lines_added=sum(p.added for p in every), lines_deleted=sum(p.deleted for p in every),
            lines_by_language=dict(by_language.most_common()),
            files_touched=len(acc.files), after_hours_commits=after, weekend_commits=weekend,
            after_hours_share=round(after / commits, 4), weekend_share=round(weekend / commits, 4))
        files = tuple(sorted(
            (FileChurn(path=path, language=self.kinds[path][0], lines=f.lines,
                       commits=f.commits, binary=f.binary, vendored=self.kinds[path][1],
                       sample_commit=f.sample_commit, sample_path=f.sample_path)
             for path, f in acc.files.items()),
            key=lambda f: (-f.lines, f.path)))
        return AuthorHistory(
            email=key, name=acc.name,
            emails=tuple(acc.emails), names=tuple(acc.names), figures=figures,
            activity=DeveloperActivity(developer_id=key, periods=periods), files=files)


def _parse_count(raw: bytes) -> tuple[int, bool]:
    """A numstat count; ``-`` (a binary file) is 0 lines and marks the file binary."""
    return (0, True) if raw == b"-" else (int(raw), False)


def _commits(tokens: Iterator[bytes], folder: _Folder) -> Iterator[_Commit]:
    """Commits from ``git log -z --numstat --format=<_FORMAT>`` fields."""
    current: _Commit | None = None
    for token in tokens:
        tok = token[1:] if token[:1] == b"\n" else token
        if tok[:1] == b"\x1e":
            if current is not None:
                yield current
            sha, name, email, raw_email, when = tok[1:].decode("utf-8", "replace").split("\x1f")
            current = _Commit(sha=sha, key=folder.identity(email, name), name=name,
                              raw_email=raw_email, when=datetime.fromisoformat(when))
            continue
        if not tok or current is None:
            continue
        added_raw, deleted_raw, raw_path = tok.split(b"\t", 2)
        added, binary = _parse_count(added_raw)
        deleted, _ = _parse_count(deleted_raw)
        if raw_path:
            at_commit = raw_path.decode("utf-8", "replace")
            path = folder.current_name(at_commit)
        else:  # a rename: the old and the new path follow as fields of their own
            old = next(tokens).decode("utf-8", "replace")
            at_commit = next(tokens).decode("utf-8", "replace")
            path = folder.current_name(at_commit)
            # Older commits name the file by its old path: count them under the newest name.
            folder.renamed_to[old] = path
        current.files.append((added, deleted, path, at_commit, binary))
    if current is not None:
        yield current


def read_history(
    repo: str | os.PathLike[str],
    *,
    since: date | None = None,
    until: date | None = None,
    period: Period = "week",
    aliases: Mapping[str, str] | None = None,
    rev: str = "HEAD",
    include_merges: bool = False,
) -> GitHistory:
    """Read the history of ``rev`` in ``repo`` into per-author activity.

    :param since: first day (the author's local date) to count; ``None`` from the first commit.
    :param until: last day to count; ``None`` up to the newest commit. Periods run from each
        author's first period to ``until`` (or the newest commit), so quiet weeks at the end
        are counted as weeks without commits.
    :param period: ``"week"`` (Monday to Sunday) or ``"month"``; the first and last periods are
        cut to the window.
    :param aliases: email -> the email it should count as (after ``.mailmap``).
    :param rev: the revision whose history is read (a branch, a tag, ``HEAD``).
    :param include_merges: count merge commits too (they add no lines).
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
    path = Path(repo)
    _check_repository(path, rev)
    args = [_git(), "-C", str(path), *_CONFIG, "log", "-z", "--numstat", "--find-renames",
            "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
            f"--format={_FORMAT}"]
    if not include_merges:
        args.append("--no-merges")
    if since is not None:
        # git filters by committer date in its own reading of the date; two days of slack,
        # and the exact cut on the author's local date is made here.
        args.append(f"--since={since - timedelta(days=2)}T00:00:00")
    args += [rev, "--"]
    folder = _Folder(period, since, until, aliases or {})
    for commit in _commits(_stream(args), folder):
        folder.add(commit)
    return folder.history(str(repo))


# -- file contents ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Blob:
    """A file's content at a commit, or why it is not there."""

    status: Literal["ok", "missing", "too_large"]
    size: int = 0
    data: bytes = b""


def read_blobs(repo: str | os.PathLike[str], items: Sequence[tuple[str, str]],
               *, max_bytes: int) -> list[Blob]:
    """The contents of ``(commit, path)`` pairs, in order, through two ``git cat-file`` calls
    (sizes first, so no file over ``max_bytes`` is ever read)."""
    if not items:
        return []
    exe = _git()
    names = [f"{commit}:{path}" for commit, path in items]
    if any("\n" in n for n in names):
        raise InvalidInputError("a path with a line break cannot be read with git cat-file")
    check = _cat_file(exe, repo, "--batch-check", "".join(f"{n}\n" for n in names).encode())
    sizes: list[tuple[str, int] | None] = []
    for line in check.splitlines():
        parts = line.decode("utf-8", "replace").split(" ")
        ok = len(parts) == 3 and parts[1] == "blob"
        sizes.append((parts[0], int(parts[2])) if ok else None)
    wanted = [s[0] for s in sizes if s is not None and s[1] <= max_bytes]
    contents: dict[str, bytes] = {}
    if wanted:
        out = _cat_file(exe, repo, "--batch", "".join(f"{sha}\n" for sha in wanted).encode())
        at = 0
        for _ in wanted:
            end = out.index(b"\n", at)
            sha, _kind, size = out[at:end].decode().split(" ")
            contents[sha] = out[end + 1:end + 1 + int(size)]
            at = end + 1 + int(size) + 1
    blobs = []
    for s in sizes:
        if s is None:
            blobs.append(Blob("missing"))
        elif s[1] > max_bytes:
            blobs.append(Blob("too_large", size=s[1]))
        else:
            blobs.append(Blob("ok", size=s[1], data=contents[s[0]]))
    return blobs


def _cat_file(exe: str, repo: str | os.PathLike[str], mode: str, stdin: bytes) -> bytes:
    done = subprocess.run([exe, "-C", str(repo), "cat-file", mode], input=stdin,
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise GitError(f"git cat-file failed (exit {done.returncode}): "
                       f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout
