"""Offline ``developer_profile`` from :class:`~aexy.catalogue.activity.DeveloperActivity`:
stated figures, exposure levels, and no judgement (seniority and growth areas stay empty).
Thresholds are the constants below and in ``docs/providers/offline.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import ActivityPeriod, DeveloperActivity
from aexy.catalogue.common import Proficiency
from aexy.catalogue.developer import DeveloperProfile, Expertise
from aexy.providers.offline.activity import read_activity, span_text
from aexy.providers.offline.common import Unsupported, figure, percent, plural

__all__ = ["developer_profile"]

#: Exposure levels: lines changed in a language (advanced also needs half the periods).
INTERMEDIATE_LINES, ADVANCED_LINES = 2_000, 20_000


def developer_profile(request: AnalysisRequest) -> DeveloperProfile:
    try:
        activity, _ = read_activity(request)
    except Unsupported as exc:
        raise Unsupported(f"{exc.reason}; a profile from free text needs a model") from None
    periods = activity.periods
    lines: dict[str, int] = {}
    active: dict[str, int] = {}
    for p in periods:
        for lang, count in p.lines_by_language.items():
            lines[lang] = lines.get(lang, 0) + count
            if count:
                active[lang] = active.get(lang, 0) + 1
    samples: dict[str, list[str]] = {}
    for ev in activity.code_evidence:
        for skill in dict.fromkeys([*([ev.language] if ev.language else []), *ev.skills]):
            samples.setdefault(skill, []).append(ev.path)
    assessed = {skill: (level, p.label or str(p.start))
                for p in periods for skill, level in p.skills.items()}
    if not lines and not samples and not assessed:
        raise Unsupported("the data has no lines_by_language, code_evidence or skills to "
                          "build a profile from")
    total = sum(lines.values())
    languages = sorted(lines, key=lambda k: -lines[k]) or list(dict.fromkeys(
        ev.language for ev in activity.code_evidence if ev.language))
    expertise = _expertise(lines, active, len(periods), samples, activity, assessed)
    strengths = _profile_strengths(activity, lines)
    shares = ", ".join(f"{lang} {percent(lines[lang] / total)}" for lang in languages[:4]
                       if total) or ", ".join(languages[:4])
    counts = [f"{figure(v)} {noun}" for v, noun in (
        (_total(periods, "commits"), "commits"), (_total(periods, "prs_opened"), "PRs opened"),
        (_total(periods, "reviews_given"), "reviews given")) if v is not None]
    summary = (
        f"{activity.developer_id} over {span_text(activity)}"
        + (f": {', '.join(counts)}" if counts else "")
        + (f"; languages by lines changed: {shares}" if shares else "")
        + f"; {plural(len(activity.code_evidence), 'code sample')} analysed. Levels below "
          "measure exposure (volume and breadth of work), not mastery. Seniority and growth "
          "areas need a model's judgement and are left empty by aexy's offline heuristics.")
    return DeveloperProfile(summary=summary, primary_languages=languages[:5],
                            expertise=expertise, seniority=None, strengths=strengths,
                            growth_areas=[])


def _total(periods: Sequence[ActivityPeriod], field: str) -> float | None:
    values = [p.value(field) for p in periods]
    measured = [v for v in values if v is not None]
    return sum(measured) if measured else None


def _expertise(lines: dict[str, int], active: dict[str, int], n_periods: int,
               samples: dict[str, list[str]], activity: DeveloperActivity,
               assessed: dict[str, tuple[Proficiency, str]]) -> list[Expertise]:
    out: dict[str, Expertise] = {}
    total = sum(lines.values())
    for lang in sorted(lines, key=lambda k: -lines[k]):
        count = lines[lang]
        if not total or count / total < 0.1:
            continue
        level = (Proficiency.ADVANCED if count >= ADVANCED_LINES and active[lang] * 2 >= n_periods
                 else Proficiency.INTERMEDIATE if count >= INTERMEDIATE_LINES
                 else Proficiency.BEGINNER)
        out[lang.casefold()] = Expertise(
            area=lang, level=level,
            evidence=f"{figure(count)} lines changed in {active[lang]} of "
                     f"{plural(n_periods, 'period')} (exposure)")
    complexity: dict[str, list[int]] = {}
    for ev in activity.code_evidence:
        for skill in ev.skills:
            if ev.complexity is not None:
                complexity.setdefault(skill, []).append(ev.complexity)
    for skill, paths in sorted(samples.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if skill.casefold() in out:
            continue
        mean = (sum(complexity[skill]) / len(complexity[skill])) if complexity.get(skill) else None
        level = (Proficiency.ADVANCED if len(paths) >= 4 and mean is not None and mean >= 6
                 else Proficiency.INTERMEDIATE if len(paths) >= 2 else Proficiency.BEGINNER)
        shown = ", ".join(list(dict.fromkeys(paths))[:3])
        out[skill.casefold()] = Expertise(
            area=skill, level=level,
            evidence=f"seen in {plural(len(paths), 'code sample')} ({shown})"
                     + (f", mean complexity {mean:.1f}/10" if mean is not None else ""))
    for skill, (level, when) in assessed.items():
        out[skill.casefold()] = Expertise(area=skill, level=level,
                                          evidence=f"assessed {level.value} in {when}")
    return list(out.values())[:10]


def _profile_strengths(activity: DeveloperActivity, lines: dict[str, int]) -> list[str]:
    periods = activity.periods
    out: list[str] = []
    reviews, opened = _total(periods, "reviews_given"), _total(periods, "prs_opened")
    if reviews and opened and reviews / opened >= 1.5:
        out.append(f"reviews others' work: {figure(reviews)} reviews given, "
                   f"{figure(opened)} PRs opened")
    with_commits = [p for p in periods if p.commits is not None]
    if len(with_commits) >= 3:
        busy = sum(1 for p in with_commits if p.commits)
        if busy / len(with_commits) >= 0.8:
            out.append(f"steady contribution: commits in {busy} of "
                       f"{plural(len(with_commits), 'period')}")
    total = sum(lines.values())
    broad = [lang for lang, count in lines.items() if total and count / total >= 0.1]
    if len(broad) >= 3:
        out.append(f"works across {len(broad)} languages ({', '.join(sorted(broad))})")
    scores = [float(ev.quality_score) for ev in activity.code_evidence
              if ev.quality_score is not None] + [
        p.quality_score for p in periods if p.quality_score is not None]
    if scores and sum(scores) / len(scores) >= 7:
        out.append(f"code quality averages {sum(scores) / len(scores):.1f}/10 over "
                   f"{plural(len(scores), 'measure')}")
    return out
