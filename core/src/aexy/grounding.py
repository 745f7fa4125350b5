"""Grounding: every claim of a result is checked against the content it is about.

A result model marks its evidence with annotations, as :data:`~aexy.postprocess.SKILL_NAMES`
marks skill names::

    class Strength(Closed):
        description: str
        line: Annotated[int | None, LINE] = None      # a 1-based line of the content
        evidence: Annotated[str | None, QUOTE] = None  # text copied from the content

    class SkillExtraction(AnalysisResult):
        libraries: list[LibraryUse]                   # each with a QUOTE
        frameworks: Annotated[list[str], BackedBy("libraries")]

An object with a :data:`QUOTE` or :data:`LINE` field is a *claim*. It survives only when it
carries evidence and all of it holds: each quote is found in the content (whitespace runs
count as one space; a quote may elide with ``...``), each line number lies within it, and each
field marked :class:`MentionedIn` names something its evidence mentions. A list of names marked
:class:`BackedBy` keeps only the names that a surviving claim of the named list mentions. What
fails is dropped, and :func:`ground` says how many were, for the result's provenance
(``ungrounded_dropped``). The gateway grounds every answer, from every provider, after
validation and before post-processing.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from aexy.postprocess import normalize_skill

__all__ = ["CODE_QUOTE", "LINE", "QUOTE", "BackedBy", "Evidence", "MentionedIn", "ground",
           "has_claims", "mentions"]


class _Quote:
    def __repr__(self) -> str:
        return "QUOTE"


class _Line:
    def __repr__(self) -> str:
        return "LINE"


#: Marks a ``str | None`` field as text copied from the content.
QUOTE: Final = _Quote()
#: Marks an ``int | None`` field as a 1-based line number of the content.
LINE: Final = _Line()


class _CodeQuote:
    def __repr__(self) -> str:
        return "CODE_QUOTE"


#: Marks a ``str | None`` field as text copied from the *code*: found outside its comments (an
#: import written in a comment is no import). The language's comment syntax comes from the
#: file name; without one, the quote must stand outside both ``#`` and ``//`` comments.
CODE_QUOTE: Final = _CodeQuote()


@dataclass(frozen=True, slots=True)
class MentionedIn:
    """Marks a name field that the claim's own ``field`` (its quote) must mention."""

    field: str


@dataclass(frozen=True, slots=True)
class BackedBy:
    """Marks a list of names each of which a surviving claim in the sibling list ``field``
    must mention (by its name or its quote)."""

    field: str


R = TypeVar("R", bound=BaseModel)

#: Words too generic to tie a name to its evidence.
_GENERIC = frozenset({"framework", "library", "server", "core", "api", "sdk", "http",
                      "web", "the", "for", "and", "js", "lang", "toolkit", "engine",
                      # the syntax of import lines
                      "import", "from", "require", "use", "include", "const", "let", "var",
                      "extern", "crate", "package", "static", "pub", "mod", "gem", "load"})


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.casefold())


def mentions(evidence: str, name: str) -> bool:
    """Whether ``evidence`` (a quote, or a claim's name and quote) mentions ``name``: one
    contains the other once case and punctuation are ignored, or a distinctive word (4
    characters or more) of either is in the other, or both are spellings of one skill."""
    ev, nm = _squash(evidence), _squash(name)
    if not nm or not ev:
        return False
    if nm in ev or ev in nm:
        return True
    for a, b, shortest in ((name, ev, 4), (evidence, nm, 3)):
        if any(w in b for w in re.split(r"[^0-9a-z]+", a.casefold())
               if len(w) >= shortest and w not in _GENERIC):
            return True
    return normalize_skill(name).casefold() in {
        normalize_skill(w).casefold() for w in re.split(r"[\s/:;,()'\"]+", evidence) if w}


class Evidence:
    """The content as grounding reads it: whitespace-normalised, and its line count. Both are
    worked out on first use: most answers carry few claims, and content may be megabytes."""

    __slots__ = ("_code", "_folded", "_lines", "_text", "content", "file_path")

    def __init__(self, content: str, file_path: str | None = None) -> None:
        self.content = content
        self.file_path = file_path
        self._text: str | None = None
        self._lines: int | None = None
        self._folded: str | None = None
        self._code: list[Evidence] | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = " ".join(self.content.split())
        return self._text

    @property
    def lines(self) -> int:
        if self._lines is None:
            content = self.content
            self._lines = content.count("\n") + (0 if content.endswith("\n") else 1)
        return self._lines

    def has_code_quote(self, quote: str) -> bool:
        """Whether ``quote`` is in the content outside its comments."""
        if not self.has_quote(quote):
            return False
        if self._code is None:
            self._code = [Evidence(text) for text in _without_comments(self.content,
                                                                       self.file_path)]
        return all(code.has_quote(quote) for code in self._code)

    def has_quote(self, quote: str) -> bool:
        """Whether ``quote`` is in the content (an elided ``...`` matches anything between its
        parts, in order); quotes of fewer than 3 visible characters prove nothing."""
        parts = [" ".join(p.split()).strip(" \"'`") for p in re.split(r"\.\.\.|…", quote)]
        parts = [p for p in parts if p]
        if not parts or sum(len(p) for p in parts) < 3:
            return False
        at = 0
        for part in parts:
            found = self.text.find(part, at)
            if found < 0:
                if self._folded is None:
                    self._folded = self.text.casefold()
                found = self._folded.find(part.casefold(), at)
                if found < 0:
                    return False
            at = found + len(part)
        return True

    def has_line(self, line: int) -> bool:
        return 1 <= line <= self.lines


def _without_comments(content: str, file_path: str | None) -> list[str]:
    """The content with its comments blanked (strings kept), by the language of the file name;
    without one, by each of the two common comment syntaxes."""
    # The offline provider's lexer is the one reader of comment syntax in aexy.
    from aexy.providers.offline.lexicon import EXTENSIONS
    from aexy.providers.offline.syntax import lex

    language = None
    if file_path and "." in file_path.rsplit("/", 1)[-1]:
        language = EXTENSIONS.get("." + file_path.rsplit(".", 1)[-1].lower())
    out = []
    for lang in [language] if language else ["Python", "C"]:
        pieces: list[str] = []
        last = 0
        for a, b in lex(content, lang).comments:
            pieces += (content[last:a], " " * (b - a))
            last = b
        pieces.append(content[last:])
        out.append("".join(pieces))
    return out


@dataclass(frozen=True, slots=True)
class _Rules:
    code_quotes: tuple[str, ...]
    quotes: tuple[str, ...]
    lines: tuple[str, ...]
    mentioned: tuple[tuple[str, str], ...]  # (name field, evidence field)


@cache
def _rules(model: type[BaseModel]) -> _Rules | None:
    """The evidence fields of a claim model, or ``None`` when it is not a claim."""
    quotes, lines, mentioned, code = [], [], [], []
    for name, info in model.model_fields.items():
        for marker in info.metadata:
            if marker is QUOTE:
                quotes.append(name)
            elif marker is CODE_QUOTE:
                code.append(name)
            elif marker is LINE:
                lines.append(name)
            elif isinstance(marker, MentionedIn):
                mentioned.append((name, marker.field))
    if not quotes and not lines and not code:
        return None
    return _Rules(tuple(code), tuple(quotes), tuple(lines), tuple(mentioned))


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of ``list[Model]`` (or ``Model``) annotations, else ``None``."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        annotation = args[0] if args else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


_Plan = tuple[tuple[tuple[str, type[BaseModel]], ...], tuple[tuple[str, str], ...]]
_NOTHING: _Plan = ((), ())


@cache
def _plan(model: type[BaseModel]) -> _Plan:
    """(claim list fields with their item model, (names field, backing field) pairs)."""
    claims: list[tuple[str, type[BaseModel]]] = []
    backed: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        item = _item_model(info.annotation)
        if item is not None and (_rules(item) is not None or _plan(item) != _NOTHING):
            claims.append((name, item))
        for marker in info.metadata:
            if isinstance(marker, BackedBy):
                backed.append((name, marker.field))
    return tuple(claims), tuple(backed)


def has_claims(model: type[BaseModel]) -> bool:
    """Whether results of ``model`` have anything for :func:`ground` to check."""
    return _plan(model) != _NOTHING


def _holds(item: BaseModel, rules: _Rules, evidence: Evidence) -> bool:
    seen = False
    for name in rules.code_quotes:
        quote = getattr(item, name)
        if quote is None or (isinstance(quote, str) and not quote.strip()):
            continue
        if not isinstance(quote, str) or not evidence.has_code_quote(quote):
            return False
        seen = True
    for name in rules.quotes:
        quote = getattr(item, name)
        if quote is None or (isinstance(quote, str) and not quote.strip()):
            continue
        if not isinstance(quote, str) or not evidence.has_quote(quote):
            return False
        seen = True
    for name in rules.lines:
        line = getattr(item, name)
        if line is None:
            continue
        if not isinstance(line, int) or not evidence.has_line(line):
            return False
        seen = True
    for name, source in rules.mentioned:
        value, quote = getattr(item, name), getattr(item, source)
        if isinstance(value, str) and isinstance(quote, str) and not mentions(quote, value):
            return False
    return seen


def _ground(model: BaseModel, evidence: Evidence) -> tuple[dict[str, Any], int]:
    claims, backed = _plan(type(model))
    updates: dict[str, Any] = {}
    dropped = 0
    for name, item_model in claims:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value] if value is not None else []
        rules = _rules(item_model)
        kept = []
        for item in items:
            if rules is not None and not _holds(item, rules, evidence):
                dropped += 1
                continue
            inner, n = _ground(item, evidence)
            dropped += n
            kept.append(item.model_copy(update=inner) if inner else item)
        if isinstance(value, list) and (len(kept) != len(value) or any(
                a is not b for a, b in zip(kept, value, strict=False))):
            updates[name] = kept
    for name, source in backed:
        names = getattr(model, name)
        backers = updates.get(source, getattr(model, source))
        said = [" ".join(str(v) for v in b.model_dump().values() if isinstance(v, str))
                for b in backers]
        kept_names = [n for n in names if any(mentions(s, n) for s in said)]
        if len(kept_names) != len(names):
            dropped += len(names) - len(kept_names)
            updates[name] = kept_names
    return updates, dropped


def ground(result: R, content: str, file_path: str | None = None) -> tuple[R, int]:
    """``result`` without the claims whose evidence is not in ``content``, and how many were
    dropped. ``file_path`` tells the language whose comments a code quote must stand outside.
    A result with nothing to drop is returned as it is."""
    if not has_claims(type(result)):
        return result, 0
    updates, dropped = _ground(result, Evidence(content, file_path))
    if not updates:
        return result, dropped
    return result.model_copy(update=updates), dropped
