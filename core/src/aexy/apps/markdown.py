"""Profiles as one Markdown document (``aexy profile --report FILE.md``): the overview of the
team, who was not profiled and why, then every profile.

Names, addresses and paths come from commits: they are escaped for Markdown and their control
characters shown as escapes, so that no author can add markup, links or terminal sequences to
the document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aexy.apps.population import Person, PopulationSummary
from aexy.apps.profile import ProfileReport
from aexy.apps.text import printable
from aexy.catalogue.activity import DOC_LANGUAGES

__all__ = ["profiles_markdown"]

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text: str) -> str:
    """``text`` as literal Markdown text (inline), on one line."""
    return _SPECIAL.sub(r"\\\1", printable(text).replace("\\x0a", " "))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def _languages(report: ProfileReport) -> str:
    result = report.profile.result
    langs = (result.primary_languages if result is not None else
             [lang for lang in report.figures.lines_by_language if lang not in DOC_LANGUAGES])
    return ", ".join(md(x) for x in langs[:3]) or "-"


def _people(title: str, people: Sequence[Person]) -> list[str]:
    if not people:
        return []
    return [f"### {title} ({len(people)})", "",
            *_table(["person", "commits", "last commit", "why"],
                    [[f"{md(p.name)} &lt;{md(p.developer_id)}&gt;", str(p.commits),
                      str(p.last_commit), md(p.reason)] for p in people])]


def _profile(report: ProfileReport) -> list[str]:
    f = report.figures
    out = [f"## {md(report.name)} &lt;{md(report.developer_id)}&gt;", "",
           f"- commits: {f.commits} on {f.active_days} days ({f.first_commit:%Y-%m-%d} to "
           f"{f.last_commit:%Y-%m-%d}), {f.active_weeks} weeks with commits",
           f"- lines: +{f.lines_added:,} -{f.lines_deleted:,} in {f.files_touched:,} files",
           "- by language: " + (", ".join(f"{md(lang)} {n:,}" for lang, n in
                                          f.lines_by_language.items()) or "none known"),
           f"- after hours: {f.after_hours_share * 100:.0f}% of commits; weekends: "
           f"{f.weekend_share * 100:.0f}%",
           "- addresses: " + ", ".join(md(e) for e in report.emails), ""]
    result = report.profile.result
    if result is not None:
        out += [md(result.summary), ""]
        if result.expertise:
            out += ["**Expertise**", "", *(f"- {md(e.area)}: {e.level.value} ({md(e.evidence)})"
                                            for e in result.expertise), ""]
        if result.strengths:
            out += ["**Strengths**", "", *(f"- {md(s)}" for s in result.strengths), ""]
        if result.seniority is not None:
            out += [f"Seniority: {result.seniority.value}", ""]
    elif report.profile.failure is not None:
        failure = report.profile.failure
        verdict = "refused" if failure.refused else "failed"
        out += [f"No profile ({verdict}): {md(failure.message)}", ""]
    if report.areas:
        out += ["**Code areas** (share: of everyone's recent work there)", "",
                *_table(["area", "lines", "commits", "last change", "share"],
                        [[md(a.path), f"{a.lines:,}", str(a.commits), str(a.last_changed),
                          f"{a.share * 100:.0f}%" if a.share is not None else "-"]
                         for a in report.areas[:10]])]
    if report.samples:
        out += ["**Code samples**", "",
                *_table(["file", "commit", "lines", "skills"],
                        [[md(s.path), s.commit[:10], f"{s.lines_changed:,}",
                          md(", ".join(s.skills)) or "-"] for s in report.samples])]
    if report.skipped_files:
        out += ["Skipped: " + "; ".join(f"{md(s.path)} ({md(s.reason)})"
                                        for s in report.skipped_files), ""]
    return out


def profiles_markdown(reports: Sequence[ProfileReport], population: PopulationSummary,
                      repository: str) -> str:
    """The overview (a table of the reports, then who was not profiled and why) and every
    profile, as one Markdown document."""
    recent = {p.developer_id: p.recent_commits for p in population.active + population.inactive}
    days = population.active_days
    out = [f"# Team profile: {md(repository)}", "",
           f"History up to {population.as_of}. Active: a commit in the {days} days up to it "
           f"(from {population.active_since}). {len(population.active)} active, "
           f"{len(population.inactive)} inactive, {len(population.bots)} bots.", "",
           "## Overview", "",
           *_table(["person", f"commits ({days} d)", "all commits", "languages", "areas",
                    "last commit"],
                   [[f"{md(r.name)} &lt;{md(r.developer_id)}&gt;",
                     str(recent.get(r.developer_id, "")), str(r.figures.commits),
                     _languages(r), ", ".join(md(a.path) for a in r.areas[:3]) or "-",
                     f"{r.figures.last_commit:%Y-%m-%d}"] for r in reports])]
    profiled = {r.developer_id for r in reports}
    out += _people("Bots, not profiled", population.bots)
    out += _people("Inactive, not profiled",
                   [p for p in population.inactive if p.developer_id not in profiled])
    if population.departures:
        out += [f"Left in the {days} days before: "
                + ", ".join(md(d) for d in population.departures), ""]
    if population.suggested_aliases:
        out += ["Possibly one person (merge with `--alias` or `.mailmap`):", "",
                *(f"- {', '.join(md(k) for k in s.developer_ids)}: {md(s.reason)}"
                  for s in population.suggested_aliases), ""]
    for report in reports:
        out += _profile(report)
    return "\n".join(out).rstrip() + "\n"
