"""Offline ``developer_profile`` from :class:`~aexy.catalogue.activity.DeveloperActivity`:
stated figures, exposure levels, and no judgement (seniority and growth areas stay empty).
Thresholds are the constants below and in ``docs/providers/offline.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aexy.analysis import AnalysisRequest
from aexy.catalogue.activity import (
    DOC_LANGUAGES,
    ActivityPeriod,
    DeveloperActivity,
    period_cells,
)
from aexy.catalogue.common import Proficiency
from aexy.catalogue.developer import DeveloperProfile, Expertise
from aexy.providers.offline.activity import read_activity, span_text
from aexy.providers.offline.common import Unsupported, figure, percent, plural

__all__ = ["LEVEL_BANDS", "developer_profile"]

#: Exposure levels of a language: (level, lines changed, quarters with changes in it), the
#: highest band reached counts. Chosen from data (encode/httpx, gin-gonic/gin, pallets/click):
#: 95% of contributors changed fewer than 600 lines in their main language, so 500 lines is
#: the top 5%. The authors of most of a code base read as expert: Tom Christie (httpx, 60,123
#: lines of Python in 22 quarters), David Lord (click, 22,351 in 26), Armin Ronacher (click,
#: 18,476 in 10); the next ones as advanced: Manu Martinez-Almeida (gin, 20,305 lines of Go
#: in 7 quarters), thinkerou (gin, 9,186 in 23), Kevin Deldycke (click, 11,865 in 8), Florimond
#: Manca (httpx, 8,466 in 6).
LEVEL_BANDS: tuple[tuple[Proficiency, int, int], ...] = (
    (Proficiency.EXPERT, 15_000, 8),
    (Proficiency.ADVANCED, 5_000, 4),
    (Proficiency.INTERMEDIATE, 500, 1),
)
#: A language is listed in expertise from this share of the developer's lines of code.
EXPERTISE_SHARE = 0.1
#: The documentation language: its lines make a "documentation" expertise (the data formats
#: of DOC_LANGUAGES do not).
PROSE = "Markdown"
#: Documentation is a strength from this many lines and this share of all lines.
DOCS_LINES, DOCS_SHARE = 1_000, 0.1
#: Code areas named in the summary.
AREAS_NAMED = 3


def _quarter(p: ActivityPeriod) -> tuple[int, int]:
    return p.start.year, (p.start.month - 1) // 3


Bands = tuple[tuple[Proficiency, int, int], ...]


def _bands(raw: object) -> Bands:
    """:data:`LEVEL_BANDS` with the ``level_bands`` context on top: level -> [lines,
    quarters] (``{"expert": [30000, 12]}``)."""
    if raw is None:
        return LEVEL_BANDS
    given: dict[Proficiency, tuple[int, int]] = {}
    ok = isinstance(raw, dict)
    for key, value in raw.items() if isinstance(raw, dict) else ():
        pair = value if isinstance(value, list | tuple) else ()
        level = next((p for p in Proficiency if p.value == str(key).lower()), None)
        if (level is None or level is Proficiency.BEGINNER or len(pair) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                           for x in pair)):
            ok = False
            break
        given[level] = (pair[0], pair[1])
    if not ok:
        raise Unsupported("level_bands must map intermediate, advanced or expert to [lines "
                          f"changed, quarters with changes], e.g. {{\"expert\": [15000, 8]}}; "
                          f"got {raw!r}")
    return tuple((level, *given.get(level, (lines, quarters)))
                 for level, lines, quarters in LEVEL_BANDS)


def _level(lines: int, quarters: int, bands: Bands = LEVEL_BANDS) -> Proficiency:
    return next((level for level, at_least, over in bands
                 if lines >= at_least and quarters >= over), Proficiency.BEGINNER)


def developer_profile(request: AnalysisRequest) -> DeveloperProfile:
    try:
        # Quiet periods are not listed: totals and quarters need only the active ones.
        activity, _ = read_activity(request, quiet_periods=False)
    except Unsupported as exc:
        raise Unsupported(f"{exc.reason}; a profile from free text needs a model") from None
    bands = _bands(request.context.get("level_bands"))
    periods = activity.periods
    lines: dict[str, int] = {}
    quarters: dict[str, set[tuple[int, int]]] = {}
    for p in periods:
        for lang, count in p.lines_by_language.items():
            lines[lang] = lines.get(lang, 0) + count
            if count:
                quarters.setdefault(lang, set()).add(_quarter(p))
    code = {lang: n for lang, n in lines.items() if lang not in DOC_LANGUAGES}
    docs = {lang: n for lang, n in lines.items() if lang in DOC_LANGUAGES and n}
    samples: dict[str, list[str]] = {}
    for ev in activity.code_evidence:
        for skill in dict.fromkeys([*([ev.language] if ev.language else []), *ev.skills]):
            samples.setdefault(skill, []).append(ev.path)
    assessed = {skill: (level, p.label or str(p.start))
                for p in periods for skill, level in p.skills.items()}
    if not code and not docs.get(PROSE) and not samples and not assessed:
        only = (f" (only data files: {', '.join(sorted(docs))})" if docs else "")
        raise Unsupported("the data has no lines in a programming language or in "
                          f"documentation, no code_evidence and no skills to build a profile "
                          f"from{only}")
    languages = sorted(code, key=lambda k: -code[k]) or list(dict.fromkeys(
        ev.language for ev in activity.code_evidence
        if ev.language and ev.language not in DOC_LANGUAGES))
    expertise = _expertise(code, quarters, samples, activity, assessed, bands)
    prose = docs.get(PROSE, 0)
    if prose and prose / sum(lines.values()) >= EXPERTISE_SHARE and len(expertise) < 10:
        active = len(quarters.get(PROSE, ()))
        expertise.append(Expertise(
            area=f"documentation ({PROSE})", level=_level(prose, active, bands),
            evidence=f"{figure(prose)} lines of {PROSE} changed, in "
                     f"{plural(active, 'quarter')} (exposure)"))
    strengths = _profile_strengths(activity, lines, docs)
    total = sum(code.values())
    shares = ", ".join(f"{lang} {percent(code[lang] / total)}" for lang in languages[:4]
                       if total) or ", ".join(languages[:4])
    counts = [f"{figure(v)} {noun}" for v, noun in (
        (_total(periods, "commits"), "commits"), (_total(periods, "prs_opened"), "PRs opened"),
        (_total(periods, "reviews_given"), "reviews given")) if v is not None]
    areas = [a.path for a in activity.code_areas[:AREAS_NAMED]]
    summary = (
        f"{activity.developer_id} over {span_text(activity)}"
        + (f": {', '.join(counts)}" if counts else "")
        + (f"; languages by lines changed: {shares}" if shares else "")
        + (f"; documentation and data: {_listing(docs)} lines" if docs else "")
        + (f"; most changed areas, recent changes weighing more: {', '.join(areas)}"
           if areas else "")
        + f"; {plural(len(activity.code_evidence), 'code sample')} analysed. Levels below "
          "measure exposure (volume and span of work), not mastery. Seniority and growth "
          "areas need a model's judgement and are left empty by aexy's offline heuristics.")
    return DeveloperProfile(summary=summary, primary_languages=languages[:5],
                            expertise=expertise, seniority=None, strengths=strengths,
                            growth_areas=[])


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{lang} {figure(n)}" for lang, n in
                     sorted(counts.items(), key=lambda kv: -kv[1]))


def _total(periods: Sequence[ActivityPeriod], field: str) -> float | None:
    values = [p.value(field) for p in periods]
    measured = [v for v in values if v is not None]
    return sum(measured) if measured else None


def _expertise(code: dict[str, int], quarters: dict[str, set[tuple[int, int]]],
               samples: dict[str, list[str]], activity: DeveloperActivity,
               assessed: dict[str, tuple[Proficiency, str]], bands: Bands) -> list[Expertise]:
    out: dict[str, Expertise] = {}
    total = sum(code.values())
    for lang in sorted(code, key=lambda k: -code[k]):
        count = code[lang]
        if not total or count / total < EXPERTISE_SHARE:
            continue
        active = len(quarters.get(lang, ()))
        out[lang.casefold()] = Expertise(
            area=lang, level=_level(count, active, bands),
            evidence=f"{figure(count)} lines changed, in {plural(active, 'quarter')} "
                     "(exposure)")
    complexity: dict[str, list[int]] = {}
    for ev in activity.code_evidence:
        for skill in ev.skills:
            if ev.complexity is not None:
                complexity.setdefault(skill, []).append(ev.complexity)
    for skill, paths in sorted(samples.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if skill.casefold() in out or skill in DOC_LANGUAGES:
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


def _window_periods(activity: DeveloperActivity) -> int:
    """Periods in the window, quiet ones included."""
    if activity.quiet_periods == "listed" or activity.period is None:
        return len(activity.periods)
    return len(period_cells(activity.first_day, activity.last_day, activity.period))


def _profile_strengths(activity: DeveloperActivity, lines: dict[str, int],
                       docs: dict[str, int]) -> list[str]:
    periods = activity.periods
    out: list[str] = []
    reviews, opened = _total(periods, "reviews_given"), _total(periods, "prs_opened")
    if reviews and opened and reviews / opened >= 1.5:
        out.append(f"reviews others' work: {figure(reviews)} reviews given, "
                   f"{figure(opened)} PRs opened")
    if any(p.commits is not None for p in periods):
        window = _window_periods(activity)
        busy = sum(1 for p in periods if p.commits)
        if window >= 3 and busy / window >= 0.8:
            out.append(f"steady contribution: commits in {busy} of "
                       f"{plural(window, 'period')}")
    code_total = sum(n for lang, n in lines.items() if lang not in DOC_LANGUAGES)
    broad = [lang for lang, count in lines.items()
             if lang not in DOC_LANGUAGES and code_total and count / code_total >= 0.1]
    if len(broad) >= 3:
        out.append(f"works across {len(broad)} languages ({', '.join(sorted(broad))})")
    prose = docs.get(PROSE, 0)
    if prose >= DOCS_LINES and prose / max(1, sum(lines.values())) >= DOCS_SHARE:
        out.append(f"writes documentation: {figure(prose)} lines of {PROSE} changed")
    scores = [float(ev.quality_score) for ev in activity.code_evidence
              if ev.quality_score is not None] + [
        p.quality_score for p in periods if p.quality_score is not None]
    if scores and sum(scores) / len(scores) >= 7:
        out.append(f"code quality averages {sum(scores) / len(scores):.1f}/10 over "
                   f"{plural(len(scores), 'measure')}")
    return out
