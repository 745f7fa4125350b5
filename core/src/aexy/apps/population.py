"""Who the people in a repository's history are: the population model.

- **Bots** are recognised by their name and addresses (:data:`BOT_PATTERNS`, or the patterns
  given): excluded by default, listed as skipped.
- **Identities** merge through ``.mailmap`` and aliases only (:func:`~aexy.apps.read_history`);
  pairs that look like one person (the same name, or the same GitHub account behind two
  ``users.noreply.github.com`` addresses) are *suggested*, never merged.
- **Active** people committed within ``active_days`` up to the repository's last commit (the
  end of the window). They are the team. Everyone else is **inactive since** their last commit:
  no attrition, burnout or trajectory verdict is made for them.
- **Departures** are people who were in the team one window earlier and are no longer active:
  a team signal, not members.

The default window, 180 days, is chosen from data: across the regular contributors (five
commits or more) of encode/httpx, gin-gonic/gin and pallets/click, 95% of the gaps between
two commits of one person are shorter than 143, 184 and 250 days, and 90% shorter than 56,
112 and 115 days. A regular contributor's usual pause therefore rarely makes them inactive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aexy.apps.git import AuthorHistory, GitHistory, UnknownAuthorError
from aexy.apps.sources import is_vendored_or_generated, language_of
from aexy.catalogue.activity import DOC_LANGUAGES, TeamMetrics
from aexy.errors import InvalidInputError

__all__ = [
    "ACTIVE_DAYS",
    "BOT_PATTERNS",
    "AliasSuggestion",
    "Person",
    "Population",
    "PopulationRules",
    "PopulationSummary",
    "population_of",
    "team_metrics",
]

#: Days up to the last commit within which someone must have committed to be active.
ACTIVE_DAYS = 180

#: Regular expressions (case-insensitive) matched against every name and address of an
#: author. On the 1,302 identities of httpx, gin, click and tomli they find the 5 bots
#: (dependabot[bot], dependabot-preview[bot], pre-commit-ci[bot], pre-commit-ci-lite[bot],
#: "README Bot") and no person.
BOT_PATTERNS: tuple[str, ...] = (
    r"\[bot\]",  # GitHub Apps: dependabot[bot], github-actions[bot], renovate[bot]
    r"(?:^|[\s_.+-])bot(?:$|[\s_.+@-])",  # "README Bot", codetriage-readme-bot@...
    r"^no-?reply@",  # service accounts that take no mail
    r"^actions?@github\.com$",  # the default identity of GitHub Actions workflows
    r"@(?:dependabot\.com|renovateapp\.com)$",
)

#: Directory depth of the areas checked for a single owner ("api/", "api/handlers/").
OWNER_AREA_DEPTH = 2

Status = Literal["active", "inactive", "bot"]


@dataclass(frozen=True, slots=True)
class PopulationRules:
    """How :func:`population_of` sorts a history's authors.

    :param active_days: the window, ending at the last commit, within which an author must
        have committed to be active.
    :param bot_patterns: regular expressions (case-insensitive, searched in every name and
        address) that mark an author as a bot.
    :param include_bots: count bots as people (active or inactive by their commits).
    :param include_inactive: profile inactive people too (they stay outside the team).
    """

    active_days: int = ACTIVE_DAYS
    bot_patterns: tuple[str, ...] = BOT_PATTERNS
    include_bots: bool = False
    include_inactive: bool = False

    def __post_init__(self) -> None:
        if self.active_days < 1:
            raise InvalidInputError("active_days must be 1 or more")
        for pattern in self.bot_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InvalidInputError(f"bot pattern {pattern!r} is not a regular "
                                        f"expression: {exc}") from None

    def bot_match(self, author: AuthorHistory) -> str | None:
        """The first pattern one of the author's names or addresses matches."""
        texts = (*author.names, *author.emails, author.email)
        for pattern in self.bot_patterns:
            rx = _compiled(pattern)
            if any(rx.search(text) for text in texts):
                return pattern
        return None


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


class Person(BaseModel):
    """One author as the population model sees them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    developer_id: str
    name: str
    emails: list[str]
    commits: int
    recent_commits: int = Field(0, description="commits in the activity window")
    first_commit: date
    last_commit: date
    status: Status
    reason: str = Field(description="why the person has this status, in words")


class AliasSuggestion(BaseModel):
    """Authors that may be one person; merge them with ``--alias`` or ``.mailmap``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    developer_ids: list[str]
    reason: str


class PopulationSummary(BaseModel):
    """The population of a history, as data (``aexy profile --all --json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: date = Field(description="the last day of the window (the newest commit read)")
    active_since: date = Field(description="the first day of the activity window")
    active_days: int
    active: list[Person]
    inactive: list[Person]
    bots: list[Person]
    departures: list[str] = Field(description="in the team one window earlier, now inactive")
    suggested_aliases: list[AliasSuggestion]


@dataclass(frozen=True, slots=True)
class Population:
    """A history's authors sorted by :class:`PopulationRules`, each group most commits first."""

    rules: PopulationRules
    as_of: date
    active_since: date
    active: tuple[AuthorHistory, ...]
    inactive: tuple[AuthorHistory, ...]
    bots: tuple[AuthorHistory, ...]
    departures: tuple[AuthorHistory, ...]
    suggested_aliases: tuple[AliasSuggestion, ...]
    _bot_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def team(self) -> tuple[AuthorHistory, ...]:
        """The active people."""
        return self.active

    @property
    def chosen(self) -> tuple[AuthorHistory, ...]:
        """Who a whole-repository job analyses: the team, and the inactive people when the
        rules include them."""
        return self.active + (self.inactive if self.rules.include_inactive else ())

    def status(self, author: AuthorHistory) -> Status:
        if author.email in self._bot_reasons:
            return "bot"
        return "active" if author.figures.last_commit.date() >= self.active_since else "inactive"

    def reason(self, author: AuthorHistory) -> str:
        """Why ``author`` has their status, in words."""
        status = self.status(author)
        if status == "bot":
            return f"bot (matches {self._bot_reasons[author.email]})"
        last = author.figures.last_commit.date()
        if status == "inactive":
            return (f"inactive since {last} (no commit in the {self.rules.active_days} days "
                    f"up to {self.as_of})")
        return f"active: last commit {last}"

    def person(self, author: AuthorHistory) -> Person:
        f = author.figures
        return Person(developer_id=author.email, name=author.name, emails=list(author.emails),
                      commits=f.commits,
                      recent_commits=author.commits_since(self.active_since)[0],
                      first_commit=f.first_commit.date(),
                      last_commit=f.last_commit.date(), status=self.status(author),
                      reason=self.reason(author))

    def summary(self) -> PopulationSummary:
        return PopulationSummary(
            as_of=self.as_of, active_since=self.active_since,
            active_days=self.rules.active_days,
            active=[self.person(a) for a in self.active],
            inactive=[self.person(a) for a in self.inactive],
            bots=[self.person(a) for a in self.bots],
            departures=[a.email for a in self.departures],
            suggested_aliases=list(self.suggested_aliases))


def population_of(history: GitHistory, rules: PopulationRules | None = None) -> Population:
    """The population of ``history`` under ``rules`` (the defaults when ``None``)."""
    rules = rules or PopulationRules()
    if history.end is None:
        raise UnknownAuthorError(f"no commits in {history.repository} to find people in")
    as_of = history.end
    since = as_of - timedelta(days=rules.active_days - 1)
    before = since - timedelta(days=rules.active_days)
    bots: dict[str, str] = {}
    for author in history.authors.values():
        pattern = rules.bot_match(author)
        if pattern is not None:
            bots[author.email] = pattern
    people = [a for a in history.authors.values()
              if rules.include_bots or a.email not in bots]
    active = tuple(a for a in people if a.figures.last_commit.date() >= since)
    inactive = tuple(a for a in people if a.figures.last_commit.date() < since)
    departed = tuple(a for a in inactive if a.figures.last_commit.date() >= before)
    return Population(
        rules=rules, as_of=as_of, active_since=since, active=active, inactive=inactive,
        bots=tuple(a for a in history.authors.values()
                   if a.email in bots and not rules.include_bots),
        departures=departed, suggested_aliases=_suggestions(people),
        _bot_reasons={} if rules.include_bots else bots)


# -- identities ------------------------------------------------------------------------------------
_GITHUB_NOREPLY = re.compile(r"^(?:(\d+)\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


def _name_key(name: str) -> str | None:
    """A name folded for comparison (case, accents, spacing); ``None`` for one that says too
    little to compare (a single short word)."""
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    words = folded.casefold().split()
    if not words or (len(words) == 1 and len(words[0]) < 4):
        return None
    return " ".join(words)


def _suggestions(people: Sequence[AuthorHistory]) -> tuple[AliasSuggestion, ...]:
    by_name: dict[str, list[str]] = {}
    by_account: dict[str, list[str]] = {}
    for a in people:
        for name in a.names:
            key = _name_key(name)
            if key is not None and a.email not in by_name.setdefault(key, []):
                by_name[key].append(a.email)
        for email in a.emails:
            m = _GITHUB_NOREPLY.match(email)
            if m is not None:
                account = m.group(1) or m.group(2).casefold()
                if a.email not in by_account.setdefault(account, []):
                    by_account[account].append(a.email)
    out: dict[tuple[str, ...], str] = {}
    for name, keys in by_name.items():
        if len(keys) > 1:
            out.setdefault(tuple(sorted(keys)), f"same name: {name}")
    for account, keys in by_account.items():
        if len(keys) > 1:
            out.setdefault(tuple(sorted(keys)), f"same GitHub account: {account}")
    return tuple(AliasSuggestion(developer_ids=list(keys), reason=reason)
                 for keys, reason in sorted(out.items()))


# -- the team's figures ----------------------------------------------------------------------------
def _code_directories(history: GitHistory) -> set[str]:
    """Directories (down to :data:`OWNER_AREA_DEPTH`) that hold a programming-language file
    at the revision."""
    out: set[str] = set()
    for path in history.paths or ():
        language = language_of(path)
        if language is None or language in DOC_LANGUAGES or is_vendored_or_generated(path):
            continue
        parts = path.split("/")[:-1]
        for depth in range(1, min(len(parts), OWNER_AREA_DEPTH) + 1):
            out.add("/".join(parts[:depth]) + "/")
    return out


def team_metrics(history: GitHistory, population: Population | None = None,
                 team: str | None = None) -> TeamMetrics:
    """The figures of :class:`~aexy.catalogue.activity.TeamMetrics` that history holds, for
    the active team over the activity window: its size, the after-hours and weekend shares of
    its commits, each member's share of them, the code directories that exist at the revision
    and that only one member has changed, and the departures. Deploys, incidents, reviews and
    cycle times are not in a repository and stay unmeasured."""
    population = population or population_of(history)
    members = population.active
    if not members:
        raise UnknownAuthorError(
            f"nobody in {history.repository} committed in the {population.rules.active_days} "
            f"days up to {population.as_of}: there is no active team to measure")
    counts = {a.email: a.commits_since(population.active_since) for a in members}
    total = sum(c for c, _, _ in counts.values())
    after = sum(a for _, a, _ in counts.values())
    weekend = sum(w for _, _, w in counts.values())
    # Rounded down, so the shares never add up to more than 1.
    shares = {key: int(c / total * 10_000) / 10_000 for key, (c, _, _) in counts.items()}
    changed_by: dict[str, set[str]] = {}
    for a in members:
        for area in a.area_figures():
            changed_by.setdefault(area, set()).add(a.email)
    single = sorted(area for area in _code_directories(history)
                    if len(changed_by.get(area, ())) == 1)
    start = max(population.active_since, history.start or population.active_since)
    return TeamMetrics(team=team, start=start, end=population.as_of,
                       size=len(members), after_hours_share=round(after / total, 4),
                       weekend_share=round(weekend / total, 4), commit_share=shares,
                       single_owner_areas=single,
                       departures=[a.email for a in population.departures])
