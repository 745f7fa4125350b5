"""Offline ``task_signals`` (a vocabulary of skills, protocols, platforms and domains over the
task text, and the code areas it names) and ``task_matching`` (the overlap of the task's
skills with a developer profile).

Signals: skills are the names of the lexicon (:mod:`~aexy.providers.offline.lexicon`) and of
the task vocabulary (:mod:`~aexy.providers.offline.task_vocabulary`) found in the title,
description and labels; a skill named only in sentences with a preference cue ("ideally",
"nice to have") is preferred rather than required. The domain is the one with the most cue
words, else the domain of a named skill. Code areas are those of the ``code_areas`` context
whose name the text uses. Complexity adds up the breadth and risk of the work; effort follows
complexity. Matching weighs skill overlap, experience against the task's complexity, and what
the developer would learn, 50/30/20 as the catalogue's prompt asks of models. Thresholds are
below and in ``docs/providers/offline.md``.
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
from aexy.providers.offline.task_vocabulary import (
    DOMAIN_CUES,
    LANGUAGE_DOMAINS,
    area_tokens,
    is_doc_area,
    term_patterns,
    text_tokens,
)

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
#: Confidence: 0.2 + 0.1 per skill (at most 3) + 0.1 for two domain cues + 0.1 for 40 words
#: + 0.1 for a code area named, at most this.
MAX_SIGNALS_CONFIDENCE = 0.6
#: Code areas named in the signals, at most (the most specific first).
MAX_AREAS = 8
#: Task complexity each level handles comfortably (inclusive bounds).
SENIORITY_BANDS = {Seniority.JUNIOR: (1, 4), Seniority.MID: (3, 6), Seniority.SENIOR: (5, 8),
                   Seniority.STAFF: (6, 10), Seniority.PRINCIPAL: (7, 10)}
PROFICIENCY_BANDS = {Proficiency.BEGINNER: (1, 3), Proficiency.INTERMEDIATE: (3, 6),
                     Proficiency.ADVANCED: (5, 8), Proficiency.EXPERT: (7, 10)}
#: Experience match loses this much per point of complexity outside the band.
BAND_STEP = 0.2
#: Overall score weights: skills, experience, growth.
WEIGHTS = (0.5, 0.3, 0.2)

#: Skill -> its domains: libraries of the lexicon, then the task vocabulary's terms.
_SKILL_DOMAINS: dict[str, tuple[str, ...]] = {
    **{name: domains for name, domains in LIBRARIES.values()},
    **{term.name: (term.domain,) for term, _ in term_patterns()},
}
_CUES = (*TASK_DOMAIN_CUES, *DOMAIN_CUES)


def _task_text(request: AnalysisRequest) -> str:
    labels = request.context.get("labels")
    if isinstance(labels, list):
        return request.content + "\nLabels: " + ", ".join(str(x) for x in labels)
    return request.content


def _skills(sentences: Sequence[str]) -> tuple[list[str], list[str]]:
    """(required, preferred) skills named in the sentences, in vocabulary order."""
    required: list[str] = []
    preferred: list[str] = []
    patterns = [*skill_terms(), *((t.name, p) for t, p in term_patterns())]
    for name, pattern in patterns:
        where = [s for s in sentences if pattern.search(s)]
        if not where or name in required or name in preferred:
            continue
        (preferred if all(_PREFERENCE.search(s) for s in where) else required).append(name)
    return required, preferred


def named_areas(text: str, areas: Sequence[str], *, docs: bool) -> list[str]:
    """The areas among ``areas`` whose name the text uses (every word of it), the most
    specific first (files, then directories, each deepest first); documentation and data
    files only when the task is about documentation (``docs``)."""
    words = text_tokens(text)
    found = [a for a in dict.fromkeys(areas)
             if (tokens := area_tokens(a)) and tokens <= words and (docs or not is_doc_area(a))]
    found.sort(key=lambda a: (a.endswith("/"), -a.rstrip("/").count("/"), a))
    return found[:MAX_AREAS]


def signals_of(text: str, labels: Sequence[str] = (),
               code_areas: Sequence[str] = ()) -> TaskSignals:
    """The task signals of ``text`` (title, description, labels), with the code areas among
    ``code_areas`` it names."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    required, preferred = _skills(sentences)
    hits: dict[str, int] = {}  # a domain can have cues in the lexicon and the vocabulary
    for cue_domain, pattern in _CUES:
        hits[cue_domain] = hits.get(cue_domain, 0) + len(re.findall(pattern, text))
    ranked = [d for d, n in sorted(hits.items(), key=lambda kv: -kv[1]) if n]
    areas = named_areas(text, code_areas, docs="documentation" in ranked)
    named = required + preferred
    domain: str | None = ranked[0] if ranked else next(
        (d for s in named for d in _SKILL_DOMAINS.get(s, ())), None) or next(
        (LANGUAGE_DOMAINS.get(s, f"{s} development") for s in named), None) or next(
        iter(areas), None)
    if domain is None:
        raise Unsupported("no skill, domain cue or code area the offline vocabulary knows "
                          "appears in the task text")
    words = len(text.split())
    risk = len({m.lower() for m in _RISK.findall(text)})
    complexity = round(clamp(2 + min(2, max(0, len(required) - 1) // 2)
                             + min(2, max(0, len(ranked) - 1)) + min(3, risk)
                             + (1 if words > LONG_TASK_WORDS else 0), 1, 10))
    effort = (Effort.HOURS if complexity <= HOURS_UP_TO else Effort.DAYS
              if complexity <= DAYS_UP_TO else Effort.WEEKS)
    cue_words = [m.group(0).lower() for _, pattern in _CUES
                 for m in re.finditer(pattern, text)]
    keywords = _unique([*required, *preferred, *labels, *cue_words])[:15]
    confidence = min(MAX_SIGNALS_CONFIDENCE,
                     0.2 + 0.1 * min(3, len(named))
                     + (0.1 if sum(hits.values()) >= 2 else 0) + (0.1 if words >= 40 else 0)
                     + (0.1 if areas else 0))
    return TaskSignals(required_skills=required, preferred_skills=preferred, domain=domain,
                       complexity=complexity, estimated_effort=effort, keywords=keywords,
                       confidence=round(confidence, 2), code_areas=areas)


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
    areas = request.context.get("code_areas")
    return signals_of(_task_text(request),
                      [str(x) for x in labels] if isinstance(labels, list) else [],
                      [str(a) for a in areas if a] if isinstance(areas, list) else [])


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
    if not needed and not signals.code_areas:
        raise Unsupported("the task names no skill the offline vocabulary knows and no code "
                          "area, so there is nothing to match")
    entries, levels = _profile_entries(profile)
    have = [s for s in needed if _has(s, entries)]
    missing = [s for s in needed if s not in have]
    # A task that names code areas but no skill asks for none: every developer has all of
    # them, and who knows the areas decides (the ranking reads that from their commits).
    skill_match = len(have) / len(needed) if needed else 1.0

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
    growth = clamp(len(new) / len(task_skills) * feasible) if task_skills else 0.0
    overall = round(100 * (WEIGHTS[0] * skill_match + WEIGHTS[1] * experience
                           + WEIGHTS[2] * growth))
    fit = ("fits" if outside == 0 else
           f"is {outside} point{'s' if outside > 1 else ''} "
           f"{'below' if c < low else 'above'} the usual range ({low}-{high}) of")
    reasoning = (
        (f"Has {len(have)} of {plural(len(needed), 'required skill')}" if needed else
         f"The task names no skill, only code areas ({', '.join(signals.code_areas)})")
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
