"""Offline ``task_signals`` (a skills lexicon over the task text) and ``task_matching`` (the
overlap of the task's skills with a developer profile).

Signals: skills are the lexicon's names found in the title, description and labels; a skill
named only in sentences with a preference cue ("ideally", "nice to have") is preferred rather
than required. The domain is the one with the most cue words. Complexity adds up the breadth
and risk of the work; effort follows complexity. Matching weighs skill overlap, experience
against the task's complexity, and what the developer would learn, 50/30/20 as the catalogue's
prompt asks of models. Thresholds are below and in ``docs/providers/offline.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from aexy.analysis import AnalysisRequest
from aexy.catalogue.common import Effort, Proficiency, Seniority
from aexy.catalogue.task import TaskMatch, TaskSignals
from aexy.postprocess import normalize_skill
from aexy.providers.offline.common import Unsupported, clamp, plural
from aexy.providers.offline.lexicon import LIBRARIES, TASK_DOMAIN_CUES, skill_terms

__all__ = ["task_matching", "task_signals"]

#: Sentences with these words state preferences, not requirements.
_PREFERENCE = re.compile(r"(?i)\b(ideally|preferably|preferred|nice[- ]to[- ]have|bonus|a plus|"
                         r"optional(ly)?|would help|familiarity with|if possible)\b")
#: Words that make a task riskier or wider than its size suggests.
_RISK = re.compile(r"(?i)\b(migrat\w*|rewrite|refactor\w*|redesign\w*|backwards?[- ]compatib\w*|"
                   r"zero[- ]downtime|concurren\w*|race conditions?|data loss|distributed|"
                   r"legacy|performance|at scale)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
#: Complexity: 2, +1 per two required skills beyond the first (at most 2), +1 per further
#: domain (at most 2), +1 per distinct risk word (at most 3), +1 above this many words.
LONG_TASK_WORDS = 150
#: Effort from complexity: up to 3 hours, up to 6 days, weeks above.
HOURS_UP_TO, DAYS_UP_TO = 3, 6
#: Confidence: 0.2 + 0.1 per skill (at most 3) + 0.1 for two domain cues + 0.1 for 40 words.
MAX_SIGNALS_CONFIDENCE = 0.6
#: Task complexity each level handles comfortably (inclusive bounds).
SENIORITY_BANDS = {Seniority.JUNIOR: (1, 4), Seniority.MID: (3, 6), Seniority.SENIOR: (5, 8),
                   Seniority.STAFF: (6, 10), Seniority.PRINCIPAL: (7, 10)}
PROFICIENCY_BANDS = {Proficiency.BEGINNER: (1, 3), Proficiency.INTERMEDIATE: (3, 6),
                     Proficiency.ADVANCED: (5, 8), Proficiency.EXPERT: (7, 10)}
#: Experience match loses this much per point of complexity outside the band.
BAND_STEP = 0.2
#: Overall score weights: skills, experience, growth.
WEIGHTS = (0.5, 0.3, 0.2)

_SKILL_DOMAINS = {name: domains for name, domains in LIBRARIES.values()}


def _task_text(request: AnalysisRequest) -> str:
    labels = request.context.get("labels")
    if isinstance(labels, list):
        return request.content + "\nLabels: " + ", ".join(str(x) for x in labels)
    return request.content


def signals_of(text: str, labels: Sequence[str] = ()) -> TaskSignals:
    """The task signals of ``text`` (title, description, labels)."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    required: list[str] = []
    preferred: list[str] = []
    for name, pattern in skill_terms():
        where = [s for s in sentences if pattern.search(s)]
        if not where:
            continue
        (preferred if all(_PREFERENCE.search(s) for s in where) else required).append(name)
    hits = {domain: len(re.findall(pattern, text)) for domain, pattern in TASK_DOMAIN_CUES}
    ranked = [d for d, n in sorted(hits.items(), key=lambda kv: -kv[1]) if n]
    domain = ranked[0] if ranked else next(
        (d for s in required + preferred for d in _SKILL_DOMAINS.get(s, ())), None)
    if domain is None:
        if not required and not preferred:
            raise Unsupported("no skill or domain the offline lexicon knows appears in the "
                              "task text")
        raise Unsupported(f"the task names {', '.join(required + preferred)} but no domain "
                          "cue the offline lexicon knows")
    words = len(text.split())
    risk = len({m.lower() for m in _RISK.findall(text)})
    complexity = round(clamp(2 + min(2, max(0, len(required) - 1) // 2)
                             + min(2, max(0, len(ranked) - 1)) + min(3, risk)
                             + (1 if words > LONG_TASK_WORDS else 0), 1, 10))
    effort = (Effort.HOURS if complexity <= HOURS_UP_TO else Effort.DAYS
              if complexity <= DAYS_UP_TO else Effort.WEEKS)
    cue_words = [m.group(0).lower() for _, pattern in TASK_DOMAIN_CUES
                 for m in re.finditer(pattern, text)]
    keywords = _unique([*required, *preferred, *labels, *cue_words])[:15]
    confidence = min(MAX_SIGNALS_CONFIDENCE,
                     0.2 + 0.1 * min(3, len(required) + len(preferred))
                     + (0.1 if sum(hits.values()) >= 2 else 0) + (0.1 if words >= 40 else 0))
    return TaskSignals(required_skills=required, preferred_skills=preferred, domain=domain,
                       complexity=complexity, estimated_effort=effort, keywords=keywords,
                       confidence=round(confidence, 2))


def _unique(items: Sequence[str]) -> list[str]:
    """First spelling of each item, case-insensitively, in order."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.casefold() not in seen:
            seen.add(item.casefold())
            out.append(item)
    return out


def task_signals(request: AnalysisRequest) -> TaskSignals:
    labels = request.context.get("labels")
    return signals_of(_task_text(request),
                      [str(x) for x in labels] if isinstance(labels, list) else [])


def _profile_entries(profile: Mapping[str, Any]) -> tuple[list[str], list[Proficiency]]:
    """Every skill-like string of a profile, and the levels of its expertise entries."""
    names: list[str] = []
    levels: list[Proficiency] = []
    for key in ("primary_languages", "languages", "skills", "frameworks", "domains"):
        value = profile.get(key)
        if isinstance(value, list):
            names += [str(v) for v in value if isinstance(v, str)]
    for item in profile.get("expertise") or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("area"), str):
            names.append(item["area"])
            level = item.get("level")
            if isinstance(level, str) and level.lower() in {p.value for p in Proficiency}:
                levels.append(Proficiency(level.lower()))
    return names, levels


def _has(skill: str, entries: Sequence[str]) -> bool:
    """The profile has ``skill``: the same canonical name, or the name as a whole word of an
    entry ("JWT" in "JWT sessions")."""
    key = normalize_skill(skill).casefold()
    word = re.compile(rf"(?<![\w.+#-]){re.escape(skill)}(?![\w+#])", re.IGNORECASE)
    return any(normalize_skill(e).casefold() == key or word.search(e) for e in entries)


def task_matching(request: AnalysisRequest) -> TaskMatch:
    profile = request.context.get("developer_profile")
    if not isinstance(profile, Mapping):
        raise Unsupported("matching offline needs the developer's profile as a JSON object in "
                          "the developer_profile context key (e.g. a developer_profile result)")
    try:
        signals = TaskSignals.model_validate_json(request.content)
    except ValidationError:  # the task's text: extract its signals first
        signals = task_signals(request)
    task_skills = list(dict.fromkeys([*signals.required_skills, *signals.preferred_skills]))
    needed = signals.required_skills or signals.preferred_skills
    if not needed:
        raise Unsupported("the task names no skill the offline lexicon knows, so there is "
                          "nothing to match")
    entries, levels = _profile_entries(profile)
    have = [s for s in needed if _has(s, entries)]
    missing = [s for s in needed if s not in have]
    skill_match = len(have) / len(needed)

    seniority_raw = profile.get("seniority")
    seniority = (Seniority(seniority_raw.lower()) if isinstance(seniority_raw, str)
                 and seniority_raw.lower() in {s.value for s in Seniority} else None)
    if seniority is not None:
        low, high = SENIORITY_BANDS[seniority]
        level_text = f"{seniority.value} level"
    elif levels:
        ranks = list(Proficiency)
        typical = ranks[round(sum(ranks.index(lv) for lv in levels) / len(levels))]
        low, high = PROFICIENCY_BANDS[typical]
        level_text = f"mostly {typical.value} expertise"
    else:
        raise Unsupported("the profile has neither a seniority nor expertise levels to judge "
                          "experience against the task's complexity")
    c = signals.complexity
    outside = low - c if c < low else c - high if c > high else 0
    experience = clamp(1 - BAND_STEP * outside)

    new = [s for s in task_skills if not _has(s, entries)]
    feasible = 1.0 if skill_match >= 0.5 else 2 * skill_match
    growth = clamp(len(new) / len(task_skills) * feasible)
    overall = round(100 * (WEIGHTS[0] * skill_match + WEIGHTS[1] * experience
                           + WEIGHTS[2] * growth))
    fit = ("fits" if outside == 0 else
           f"is {outside} point{'s' if outside > 1 else ''} "
           f"{'below' if c < low else 'above'} the usual range ({low}-{high}) of")
    reasoning = (
        f"Has {len(have)} of {plural(len(needed), 'required skill')}"
        + (f" ({', '.join(have)})" if have else "")
        + (f"; missing {', '.join(missing)}" if missing else "")
        + f". A {c}/10 task {fit} {level_text}. {len(new)} of the task's "
        f"{plural(len(task_skills), 'skill')} would be new. Weighted 50% skills, 30% "
        "experience, 20% growth by aexy's offline heuristics.")
    gaps = list(missing)
    if c > high:
        gaps.append(f"task complexity {c}/10 is above the usual range for {level_text}")
    return TaskMatch(overall_score=overall, skill_match=round(skill_match, 2),
                     experience_match=round(experience, 2), growth_opportunity=round(growth, 2),
                     reasoning=reasoning, strengths=have, gaps=gaps)
