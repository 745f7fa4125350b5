"""Reading code, not text: each language's comments and string literals, found in one pass.

:func:`lex` returns a :class:`Source` whose ``code`` is the text with every comment blanked
and every string literal's body blanked (its quotes kept), both to spaces with newlines kept, so
offsets and line numbers are the original's. Every pattern the heuristics run reads ``code``:
a word in a comment or a string is never taken for code. What a literal holds (an import path,
a secret) is read back from the original text at the same offsets (:meth:`Source.literal`).

Written here rather than taken from a parsing library: one compiled expression per language
family reads a file in one C-speed pass (a 100 KB file in about a millisecond), and aexy-core
stays free of native dependencies. Python's own parser still gives Python's structure exactly
(:mod:`~aexy.providers.offline.structure`).
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cache, lru_cache

__all__ = ["FAMILIES", "Source", "family_of", "lex"]

# One expression per family: each alternative is a comment (group "c" or "c2"), a string whose
# body is the last group of its alternative ("b", "b2" ...), or a regular expression literal ("r");
# anything else is code and is skipped by the regex engine itself.
#
# Speed: in the families most code is written in (Python, the C family, Rust, Ruby) every
# alternative starts with one literal character, and what must stand before that character (no
# word character before a quote, a prefix letter) is a look-behind placed after it. The engine
# then tries the expression only where one of those characters stands (a character-set prefix
# scan, in C) instead of at every offset: 4 to 6 times faster over real code, with the matches
# of the plainer spelling (a look-behind before the alternative), which
# tests/core/providers/test_offline_speed.py keeps and compares.
_PATTERNS: dict[str, str] = {
    # Python: '#' comments; single, triple-quoted and prefixed strings (f-strings' bodies too).
    # A quote opens a string after a non-word character, or after one or two prefix letters
    # (r, b, u, f in either case) that follow one.
    "python": (r"#(?P<c>[^\n]*)"
               r"|'(?:(?<!\w')|(?<=(?<!\w)[rRbBuUfF]')|(?<=(?<!\w)[rRbBuUfF]{2}'))"
               r"(?:''(?P<b>[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*)'''"
               r"|(?P<b3>[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*)')"
               r'|"(?:(?<!\w")|(?<=(?<!\w)[rRbBuUfF]")|(?<=(?<!\w)[rRbBuUfF]{2}"))'
               r'(?:""(?P<b2>[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*)"""'
               r'|(?P<b4>[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*)")'),
    # C, C++, Java, C#, JavaScript, TypeScript, Go, Kotlin, Swift, Scala, Dart: '//' and '/* */';
    # "...", '...' and `...` (template literals, Go raw strings); a regular expression literal
    # (JS/TS), which counts only after an operator or an opening bracket (spaces between): lex()
    # checks that, as a look-behind cannot skip a run of spaces.
    "c": (r"/(?:(?P<c>/[^\n]*|\*[^*]*(?:\*(?!/)[^*]*)*(?:\*/|\Z))"
          r"|(?P<r>(?![/*])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/))"
          r"|\"(?P<b>[^\\\"\n]*(?:\\[\s\S][^\\\"\n]*)*)\"|`(?P<b3>[^\\`]*(?:\\[\s\S][^\\`]*)*)`"
          r"|'(?P<b2>[^\\'\n]*(?:\\[\s\S][^\\'\n]*)*)'"),
    # Rust: as C, and raw strings (r"...", r#"..."#, br"...") from an 'r' after a non-word
    # character or after a 'b' that follows one. Lifetimes ('a) are no strings: a quote opens a
    # character literal only when it closes one character later.
    "rust": (r"/(?P<c>/[^\n]*|\*[^*]*(?:\*(?!/)[^*]*)*(?:\*/|\Z))"
             r"|r(?:(?<!\wr)|(?<=(?<!\w)br))(?P<h>#*)\"(?P<b3>[\s\S]*?)\"(?P=h)"
             r"|\"(?P<b>[^\\\"]*(?:\\[\s\S][^\\\"]*)*)\""
             r"|'(?P<b2>\\(?:[^\n']|u\{[0-9a-fA-F]+\})[^'\n]{0,6}|[^\\'\n])'"),
    # Shell: '#' at a word's start; '...', "..." (escapes), heredocs.
    "shell": (r"(?P<c>(?<![\w$#{}\\])#[^\n]*)"
              r"|(?:<<-?[ \t]*(?P<hq>['\"]?)(?P<ht>\w+)(?P=hq)[^\n]*\n(?P<b3>[\s\S]*?)"
              r"^[ \t]*(?P=ht)$"
              r"|(?P<q>')(?P<b>[^']*)'|(?P<q2>\")(?P<b2>(?:\\[\s\S]|[^\\\"])*)\")"),
    # Ruby: '#' comments (not "#{"), =begin ... =end from a line's start; quoted strings,
    # heredocs.
    "ruby": (r"#(?<![\w$#{}\\?]#)(?!\{)(?P<c>[^\n]*)"
             r"|=(?<![^\n]=)begin\b[\s\S]*?^=end\b(?P<c2>[^\n]*)"
             r"|<<[~-]?(?P<hq>['\"]?)(?P<ht>[A-Z_]\w*)(?P=hq)[^\n]*\n(?P<b3>[\s\S]*?)"
             r"^[ \t]*(?P=ht)$"
             r"|\"(?P<b>[^\\\"]*(?:\\[\s\S][^\\\"]*)*)\"|'(?P<b2>[^\\']*(?:\\[\s\S][^\\']*)*)'"),
    # SQL: '--' and '/* */'; '...' with '' inside. Dollar-quoted bodies ($$ ... $$) stay code:
    # they hold the functions.
    "sql": (r"(?P<c>--[^\n]*|/\*[\s\S]*?(?:\*/|\Z))"
            r"|(?:[EeNn]?(?P<q>')(?P<b>(?:''|\\'|[^'])*)')"),
    # Lua: '--' and '--[[ ]]'; quoted and long strings.
    "lua": (r"(?P<c>--\[(?P<eq>=*)\[[\s\S]*?\](?P=eq)\]|--[^\n]*)"
            r"|(?:\[(?P<eq2>=*)\[(?P<b3>[\s\S]*?)\](?P=eq2)\]"
            r"|(?P<q>\")(?P<b>(?:\\[\s\S]|[^\\\"\n])*)\"|(?P<q2>')(?P<b2>(?:\\[\s\S]|[^\\'\n])*)')"),
    # PHP, Perl and others with '#' comments and C-style ones.
    "hash_c": (r"(?P<c>//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)|(?<![\w$])#(?!\[)[^\n]*)"
               r"|(?:(?P<q>\")(?P<b>(?:\\[\s\S]|[^\\\"])*)\"|(?P<q2>')(?P<b2>(?:\\[\s\S]|[^\\'])*)')"),
    # Configuration and markup: '#' comments only (YAML, TOML, Dockerfile, HCL ...).
    "hash": (r"(?P<c>(?<![\w$])#[^\n]*)"
             r"|(?:(?P<q>\")(?P<b>(?:\\[\s\S]|[^\\\"\n])*)\"|(?P<q2>')(?P<b2>[^'\n]*)')"),
}

#: Language -> lexical family. Languages not listed read as ``c`` when they use braces.
FAMILIES: dict[str, str] = {
    "Python": "python", "Shell": "shell", "PowerShell": "hash", "Ruby": "ruby", "SQL": "sql",
    "Lua": "lua", "PHP": "hash_c", "Rust": "rust", "YAML": "hash", "TOML": "hash",
    "Dockerfile": "hash", "HCL": "hash_c", "R": "hash", "Elixir": "hash", "Perl": "hash_c",
    "Makefile": "hash",
}


def family_of(language: str) -> str:
    return FAMILIES.get(language, "c")


@cache
def _compiled(family: str) -> re.Pattern[str]:
    return re.compile(_PATTERNS[family], re.MULTILINE)


def _blank(text: str) -> str:
    """``text`` with every character but newlines turned to a space (same length)."""
    if "\n" not in text:
        return " " * len(text)
    return "\n".join(" " * len(part) for part in text.split("\n"))


_LINE_BREAK = re.compile("\n")
_NONBLANK = re.compile(r"^[ \t]*\S", re.MULTILINE)
# The lines after the first: from their line break, a literal prefix the regex engine jumps to.
_NONBLANK_AFTER_BREAK = re.compile(r"\n[ \t]*\S")


@dataclass(slots=True)
class Source:
    """One file as read: the original text and the same text with comments and string bodies
    blanked (same offsets), with the spans of each."""

    text: str
    code: str
    language: str
    #: (start, end) of each string literal's body in ``text``.
    strings: list[tuple[int, int]] = field(default_factory=list)
    #: (start, end) of each comment in ``text``.
    comments: list[tuple[int, int]] = field(default_factory=list)
    _line_starts: list[int] | None = None

    @property
    def line_starts(self) -> list[int]:
        """Offset of each line's start (computed once)."""
        starts = self._line_starts
        if starts is None:
            starts = [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]
            self._line_starts = starts
        return starts

    def line_of(self, offset: int) -> int:
        """1-based line number of an offset."""
        return bisect_right(self.line_starts, offset)

    def line_lengths(self) -> list[int]:
        """Each line's length, its line break not counted."""
        starts = self.line_starts
        lengths = list(map(operator.sub, starts[1:], map((1).__add__, starts)))
        lengths.append(len(self.text) - starts[-1])
        return lengths

    def literal(self, start: int, end: int) -> str:
        """The original text at ``[start, end)``: a literal's body read back."""
        return self.text[start:end]

    def line_text(self, line: int) -> str:
        """The original text of a 1-based line, stripped."""
        starts = self.line_starts
        if not 1 <= line <= len(starts):
            return ""
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[starts[line - 1]:end].strip()

    def offset_of(self, line: int) -> int:
        """Offset where a 1-based line starts (the text's end past the last line)."""
        starts = self.line_starts
        return starts[line - 1] if 0 < line <= len(starts) else len(self.text)

    def nonblank_lines(self, first: int, last: int, *, code: bool = True) -> int:
        """Lines ``first..last`` (1-based, inclusive) with anything on them, counted by the
        regex engine; in the code (comments and strings blanked) or the text."""
        text = self.code if code else self.text
        start, end = self.offset_of(first), self.offset_of(last + 1)
        return len(_NONBLANK_AFTER_BREAK.findall(text, start, end)) + (
            1 if _NONBLANK.match(text, start, end) else 0)

    def comment_text(self) -> str:
        return "\n".join(self.text[a:b] for a, b in self.comments)


#: What may stand before a regular expression literal (spaces and tabs between).
_REGEX_AFTER = frozenset("(,=:[!&|?{};")
_COMMENT_GROUPS = frozenset({"c", "c2"})


def _regex_allowed(text: str, slash: int) -> bool:
    """Whether the ``/`` at ``slash`` opens a regular expression literal: an operator or an
    opening bracket stands before it, with only spaces and tabs between."""
    k = slash
    while k > 0 and text[k - 1] in " \t":
        k -= 1
    return k > 0 and text[k - 1] in _REGEX_AFTER


# The last few reads are kept: the gateway's grounding step reads the comments of the file an
# offline method has just read (the same text, in the same process when it ran in a thread).
@lru_cache(maxsize=16)
def lex(text: str, language: str) -> Source:
    """Blank the comments and string bodies of ``text`` as ``language`` writes them. The
    :class:`Source` may be shared with other callers: read it, never change it."""
    search = _compiled(family_of(language)).search
    pieces: list[str] = []
    strings: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    last = 0
    m = search(text)
    while m is not None:
        start, end = m.span()
        kind = m.lastgroup
        if kind in _COMMENT_GROUPS:
            pieces.append(text[last:start])
            pieces.append(_blank(m.group(0)))
            comments.append((start, end))
            last = end
        elif kind == "r":  # a regular expression literal: blank between its slashes
            if not _regex_allowed(text, start):  # a division: read on after the slash
                m = search(text, start + 1)
                continue
            pieces.append(text[last:start + 1])
            pieces.append(_blank(text[start + 1:end - 1]))
            strings.append((start + 1, end - 1))
            last = end - 1
        elif kind is not None and kind[0] == "b":
            bs, be = m.span(kind)
            pieces.append(text[last:bs])
            pieces.append(_blank(text[bs:be]))
            strings.append((bs, be))
            last = be
        m = search(text, end if end > start else end + 1)
    if not pieces:
        return Source(text, text, language, strings, comments)
    pieces.append(text[last:])
    return Source(text, "".join(pieces), language, strings, comments)
