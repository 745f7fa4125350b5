"""Finding patterns in code fast, with the matches of their plain spelling.

Python's regex engine tries an expression at every offset of a text, unless the expression
starts with a literal (or each of its branches with a literal character): then it jumps from one
occurrence of that literal to the next, in C. The heuristics read every file with dozens of
expressions, so they spell each one to start with a literal:

- ``\\bword`` is written ``word(?<!\\wword)``: the word boundary is a look-behind after the word;
- ``^...`` (at a line's start, multi-line) is a :class:`LineStart`: the engine jumps from one
  line break to the next;
- an alternation whose branches start with different words is split into expressions searched
  one after the other, and the earliest match is the alternation's (:func:`first`).

Over the files the benchmark reads, an expression spelled so takes a tenth of the time or less.
``tests/core/providers/test_offline_fast_paths.py`` checks each against its plain spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["Finder", "LineStart", "find", "first"]


class LineStart:
    """``^pattern`` in multi-line mode: where ``pattern`` matches at the start of a line."""

    __slots__ = ("_after_break", "_at_start", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self._at_start = re.compile(pattern, flags | re.MULTILINE)
        # "\n" is a literal prefix: the engine tries the pattern only after each line break.
        self._after_break = re.compile(f"\n(?:{pattern})", flags | re.MULTILINE)

    def search(self, text: str) -> int | None:
        """Offset of the first line start where the pattern matches, or ``None``."""
        if self._at_start.match(text):
            return 0
        m = self._after_break.search(text)
        return None if m is None else m.start() + 1


#: An expression, a line-start expression, or a function that finds where something starts.
Finder = re.Pattern[str] | LineStart | Callable[[str], "int | None"]


def find(text: str, finder: Finder) -> int | None:
    """Offset where the first match of ``finder`` starts (of a :class:`LineStart`: its line's
    start), or ``None``."""
    if isinstance(finder, re.Pattern):
        m = finder.search(text)
        return None if m is None else m.start()
    if isinstance(finder, LineStart):
        return finder.search(text)
    return finder(text)


def first(text: str, finders: Iterable[Finder]) -> int | None:
    """Offset where the first match of any of ``finders`` starts, or ``None``: the start of
    the first match of their alternation."""
    best: int | None = None
    for finder in finders:
        at = find(text, finder)
        if at is not None and (best is None or at < best):
            best = at
    return best
