"""Functions, branch points and block depth of a piece of code.

Python is read with the standard library's parser (:mod:`ast`): functions (qualified names),
docstrings, type hints, branch points and nesting are exact. Every other language (and Python
that does not parse) is read from its lexed code (:mod:`~aexy.providers.offline.syntax`: comments
and strings blanked) in one pass over its block delimiters: braces for the C family, Go, Rust,
Java, JavaScript and TypeScript; keywords for Ruby (``def ... end``), shell (``if ... fi``,
``do ... done``, ``name() { }``) and SQL (``CREATE FUNCTION``, ``BEGIN ... END``, ``IF ... END
IF``, dollar-quoted bodies); indentation for Python that does not parse. Block depth counts
control blocks (``if``/``for``/``while``/``switch``/``try``/``match`` ...) inside a function,
never brackets, continuation lines or object literals; an ``elif``/``else if`` stays at its
``if``'s depth.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from dataclasses import dataclass, field

from aexy.providers.offline.syntax import Source, family_of

__all__ = ["Function", "Structure", "code_structure", "python_structure"]


@dataclass(slots=True)
class Function:
    """One function or method as measured."""

    name: str  # qualified for Python methods and nested functions: "Class.method"
    line: int  # 1-based line of the definition
    lines: int  # non-blank lines, definition included
    decisions: int  # branch points in its own body (nested functions excluded)
    depth: int  # deepest control-block nesting in its body; 0 for straight-line code
    documented: bool | None = None  # None: not read for this language
    doc_line: int | None = None  # where its docstring starts or its doc comment ends
    typed: bool | None = None
    public: bool = True


@dataclass(slots=True)
class Structure:
    functions: list[Function]
    decisions: int  # the whole file's branch points
    max_depth: int  # the whole file's deepest block nesting
    classes: list[tuple[str, bool]] = field(default_factory=list)  # (name, documented)
    parsed: bool = False  # read by Python's own parser
    #: Parsed Python: its import statements.
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)


# Python: the statements that open a control block.
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_WITHS = (ast.With, ast.AsyncWith)
_TRIES = (ast.Try, ast.TryStar)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _py_depth(stmts: list[ast.stmt], level: int) -> int:
    """Deepest control-block level reached by ``stmts`` (which sit at ``level``)."""
    best = level
    for s in stmts:
        if isinstance(s, _SCOPES):
            continue  # measured on their own
        if isinstance(s, ast.If):
            best = max(best, _py_depth(s.body, level + 1))
            orelse = s.orelse
            elif_ = (len(orelse) == 1 and isinstance(orelse[0], ast.If)
                     and orelse[0].col_offset == s.col_offset)
            best = max(best, _py_depth(orelse, level if elif_ else level + 1))
        elif isinstance(s, _LOOPS):
            best = max(best, _py_depth(s.body, level + 1), _py_depth(s.orelse, level + 1))
        elif isinstance(s, _WITHS):
            best = max(best, _py_depth(s.body, level + 1))
        elif isinstance(s, _TRIES):
            blocks = [s.body, s.orelse, s.finalbody, *(h.body for h in s.handlers)]
            best = max(best, *(_py_depth(b, level + 1) for b in blocks))
        elif isinstance(s, ast.Match):  # match, then case: two blocks, as indented
            best = max(best, *(_py_depth(c.body, level + 2) for c in s.cases))
    return best


def _py_typed(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
    params = [p for p in params if p.arg not in ("self", "cls")]
    return fn.returns is not None or any(p.annotation is not None for p in params)


def _docstring_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int | None:
    """Where the docstring starts (``ast.get_docstring(node) is not None``, without cleaning
    the docstring's text); ``None`` without one."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(
            body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        return body[0].lineno
    return None


_BLOCK_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _block_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a statement type that hold statements, handlers or cases."""
    fields = _BLOCK_FIELDS.get(kind)
    if fields is None:
        fields = _BLOCK_FIELDS[kind] = tuple(
            f for f in ("body", "orelse", "finalbody", "handlers", "cases") if f in kind._fields)
    return fields


_IMPORTS = (ast.Import, ast.ImportFrom)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def python_structure(tree: ast.Module, src: Source) -> Structure:
    """Functions, classes, imports, branch points and depth of parsed Python. Statements are
    visited (never every expression node): branch points are counted in the lexed code, each
    for the innermost function around it (see :func:`_decisions`)."""
    functions: list[Function] = []
    classes: list[tuple[str, bool]] = []
    imports: list[ast.Import | ast.ImportFrom] = []
    spans: list[tuple[int, int]] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, _IMPORTS):
                imports.append(node)
            elif isinstance(node, ast.ClassDef):
                classes.append((prefix + node.name, _docstring_line(node) is not None))
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, _FUNCTIONS):
                end = node.end_lineno or node.lineno
                spans.append((node.lineno, end))
                doc_line = _docstring_line(node)
                functions.append(Function(
                    name=prefix + node.name, line=node.lineno,
                    lines=src.nonblank_lines(node.lineno, end, code=False),
                    decisions=0, depth=_py_depth(node.body, 0),
                    documented=doc_line is not None, doc_line=doc_line, typed=_py_typed(node),
                    public=not node.name.startswith("_"),
                ))
                visit(node.body, f"{prefix}{node.name}.")
            else:  # statements inside blocks (if TYPE_CHECKING: import ...; try: def ...)
                for field_name in _block_fields(type(node)):
                    inner = getattr(node, field_name)
                    if field_name in ("handlers", "cases"):  # except and case clauses
                        for clause in inner:
                            visit(clause.body, prefix)
                    else:
                        visit(inner, prefix)

    visit(tree.body, "")
    total, per_function = _decisions(src, spans)
    for f, n in zip(functions, per_function, strict=True):
        f.decisions = n
    max_depth = max([_py_depth(tree.body, 0), *(f.depth for f in functions)])
    structure = Structure(functions, total, max_depth, classes, parsed=True)
    structure.imports = imports
    return structure


# -- every other language, and Python that does not parse: read from the lexed code ---------------
# Branch points per lexical family, counted in code with comments and strings blanked. No match
# spans a line break. Where code is read most (the C family, Rust, Python, Ruby) each alternative
# starts with a literal character and its word boundary is a look-behind after that character
# (``i(?<!\wi)f\b`` is ``\bif\b``), so that the engine jumps between candidate characters
# instead of trying the expression at every offset (about 8 times faster); Python's ``case``
# lines are counted apart (see :func:`_decision_offsets`).
_DECISIONS: dict[str, re.Pattern[str]] = {
    "c": re.compile(r"i(?<!\wi)f\b|f(?<!\wf)or(?:each)?\b|w(?<!\ww)hile\b|c(?<!\wc)a(?:se|tch)\b"
                    r"|&&|\|\||\?(?<=\s\?)(?=\s)"),
    "rust": re.compile(r"i(?<!\wi)f\b|f(?<!\wf)or\b|w(?<!\ww)hile\b|&&|\|\||=>|\?(?=[;.)\s])"),
    "python": re.compile(r"i(?<!\wi)f\b|e(?<!\we)(?:lif|xcept)\b|f(?<!\wf)or\b|w(?<!\ww)hile\b"
                         r"|a(?<!\wa)nd\b|o(?<!\wo)r\b"),
    "ruby": re.compile(r"i(?<!\wi)f\b|e(?<!\we)lsif\b|u(?<!\wu)n(?:less|til)\b"
                       r"|w(?<!\ww)h(?:ile|en)\b|f(?<!\wf)or\b|r(?<!\wr)escue\b|a(?<!\wa)nd\b"
                       r"|o(?<!\wo)r\b|&&|\|\||\?(?<=\s\?)(?=\s)"),
    "shell": re.compile(r"(?<![$\w-])(?:if|elif|while|until|for)\b|&&|\|\||;;"),
    "sql": re.compile(r"(?i)\b(?:if|elsif|when|while|loop)\b(?!\s+(?:not\s+)?exists\b)"),
    "lua": re.compile(r"\b(?:if|elseif|for|while|repeat|and|or)\b"),
    "hash_c": re.compile(r"\b(?:if|elseif|for|foreach|while|case|catch)\b|&&|\|\||"
                         r"(?<=\s)\?(?=\s)"),
    "hash": re.compile(r"\b(?:if|for|while|case)\b"),
}
#: Python's ``case`` as a branch point: first in its line (a soft keyword, never a name there).
_PY_CASE = re.compile(r"c(?<!\wc)ase\b")
_CONTROL_WORDS = frozenset({
    "if", "for", "foreach", "while", "switch", "catch", "try", "do", "else", "finally",
    "synchronized", "using", "lock", "unsafe", "loop", "match", "select", "with", "when",
    "checked", "unchecked", "fixed", "elseif", "elif", "guard", "defer", "repeat"})
_CONTAINER = re.compile(
    r"\b(?:class|struct|interface|enum|union|namespace|impl|trait|mod|module|object|extension|"
    r"protocol|record|extern\s+\"\s*\")\b")
_KEYWORD_FUNCTION = re.compile(
    r"\b(?:fn|func|function|fun|def|sub)\b\s*\*?\s*(?:\([^()]*\)\s*)?([A-Za-z_$][\w$]*)?")
_ARROW_NAME = re.compile(r"([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s*)?(?:\([^()]*\)|[\w$]+)"
                         r"\s*(?::[^=;{}]+)?=>\s*$")
#: Substrings one of which a match of _KEYWORD_FUNCTION holds ("func", "function": "fun").
_FUNCTION_KEYWORDS = ("fn", "fun", "def", "sub")
_ROUTE_CALL = re.compile(r"\.(get|post|put|patch|delete)\(\s*[\"'`](?P<path>[^\"'`\n]*)[\"'`]\s*,")
# What may stand between a parameter list's ")" and the body's "{" (C++, Java, TS, C#, Kotlin).
_SIGNATURE_TAIL = re.compile(
    r"\)\s*(?:(?:const|noexcept|override|final|mutable|volatile|async|throws\s+[\w.,\s]+|"
    r"->\s*[^;{}]+|:\s*[\w<>\[\]?.,|&*\s]+|where\s[^;{}]+|&&?|"
    r":\s*[\w:]+\([^(){};]*\)(?:\s*,\s*[\w:]+\([^(){};]*\))*)\s*)*$")
_NOT_NAMES = _CONTROL_WORDS | {"return", "new", "sizeof", "typeof", "await", "throw", "case",
                               "function", "and", "or", "not", "in", "is", "of", "delete"}
_BRACES = re.compile(r"[{}]")
_PREPROCESSOR = re.compile(r"^[ \t]*#[^\n]*$", re.MULTILINE)


@dataclass(slots=True)
class _Frame:
    kind: str  # "function", "control" or "other"
    function: int  # index of the function it belongs to, -1 at file level
    start: int


@dataclass(slots=True)
class _Builder:
    """Functions and block depths as one pass over the code finds them."""

    src: Source
    functions: list[tuple[str, int, int]] = field(default_factory=list)  # name, start, end
    depths: list[int] = field(default_factory=list)
    max_depth: int = 0

    def open_function(self, name: str, start: int) -> int:
        self.functions.append((name, start, -1))
        self.depths.append(0)
        return len(self.functions) - 1

    def close_function(self, index: int, end: int) -> None:
        name, start, _ = self.functions[index]
        self.functions[index] = (name, start, end)

    def control(self, stack: list[_Frame]) -> None:
        """A control block opened at the top of ``stack``: depth within its function."""
        owner = next((f.function for f in reversed(stack) if f.kind == "function"), -1)
        depth = 0
        for frame in reversed(stack):
            if frame.kind == "function":
                break
            depth += frame.kind == "control"
        if owner >= 0:
            self.depths[owner] = max(self.depths[owner], depth)
        self.max_depth = max(self.max_depth, depth)


def _matching_open(code: str, close: int) -> int:
    """Offset of the "(" matching the ")" at ``close``, or -1."""
    level = 0
    for i in range(close, max(-1, close - 4000), -1):
        ch = code[i]
        if ch == ")":
            level += 1
        elif ch == "(":
            level -= 1
            if level == 0:
                return i
    return -1


# The name a parameter list follows: a (qualified) identifier or an operator, then template
# arguments. The quantifiers that can never give back a character usefully are possessive
# (``*+``), so that a failed try costs one pass over the identifier, not one per character.
_NAME_BEFORE = re.compile(r"(~?[A-Za-z_$][\w$]*+(?:::~?[A-Za-z_]\w*+)*+|operator\s*\S+)\s*+"
                          r"(?:<[^(){};]*>)?\s*$")


_LEADING_WORD = re.compile(r"(?:\}\s*)?(?:else\s+)?([A-Za-z_]\w*)")


def _name_before(code: str, paren: int) -> str | None:
    window = code[max(0, paren - 200):paren]
    if "operator" not in window:
        # Without an operator name, no name (nor its template arguments) holds any of "(){};":
        # it starts after the last of them, and the regex engine need not try the offsets
        # before it.
        window = window[max(map(window.rfind, "(){};")) + 1:]
    m = _NAME_BEFORE.search(window)
    return m.group(1) if m else None


def _classify(src: Source, head_start: int, brace: int) -> tuple[str, str | None]:
    """What the "{" at ``brace`` opens: ("function", name), ("control", None) or
    ("other", None), from the statement head before it."""
    code = src.code
    raw = code[max(head_start, brace - 400):brace].rstrip()
    head_start = max(head_start, brace - 400)
    head = _PREPROCESSOR.sub("", raw).strip() if "#" in raw else raw.strip()
    if not head:
        return "other", None
    line = code[code.rfind("\n", 0, brace) + 1:brace].strip()  # Go: for i := 0; i < n; i++ {
    for text in (head, line):
        word = _LEADING_WORD.match(text)
        if word and word.group(1) in _CONTROL_WORDS:
            return "control", None
    if head.endswith("=>"):
        if src.language in ("Rust", "Scala", "PHP"):
            return "control", None  # a match arm's block
        named = _ARROW_NAME.search(head)
        if named:
            return "function", named.group(1)
        return "function", _route_name(src, head_start, brace)
    # (the cheap tests before the searches, which have no effect but their answer)
    if not head.endswith(")") and _CONTAINER.search(head):
        return "other", None
    keyword = _KEYWORD_FUNCTION.search(head) if src.language not in (
        "C", "C++", "Java", "C#") and any(w in head for w in _FUNCTION_KEYWORDS) else None
    if keyword:
        name = keyword.group(1)
        if name is None or name in _NOT_NAMES:
            return "function", _route_name(src, head_start, brace)
        return "function", name
    tail = _SIGNATURE_TAIL.search(raw)
    if tail is None:
        return "other", None
    paren = _matching_open(code, head_start + tail.start())
    if paren < head_start:
        return "other", None
    name = _name_before(code, paren)
    if name is None:
        return "other", None
    if name in _NOT_NAMES:
        return ("control", None) if name in _CONTROL_WORDS else ("other", None)
    before = code[max(head_start, paren - 200):paren - len(name)].rstrip()
    if before.endswith(("new", "=", "return", ",", "(")):
        return "other", None  # a call or an initialiser, not a definition
    return "function", name


def _route_name(src: Source, head_start: int, brace: int) -> str:
    """``"POST /cart/:id"`` for a handler passed to ``app.post("/cart/:id", ...)``, else
    ``"<anonymous>"``."""
    found = None
    for m in _ROUTE_CALL.finditer(src.code, max(0, head_start - 300), brace):
        found = m
    if found is None:
        return "<anonymous>"
    path = src.literal(found.start("path"), found.end("path"))
    return f"{found.group(1).upper()} {path}" if path else "<anonymous>"


def _brace_blocks(src: Source, b: _Builder) -> None:
    code = src.code
    stack: list[_Frame] = []
    head_start = 0
    for m in _BRACES.finditer(code):
        pos = m.start()
        # A statement head starts after the last ";", "{" or "}": the ";" between two braces
        # are looked up, not visited.
        semicolon = code.rfind(";", head_start, pos)
        if semicolon >= 0:
            head_start = semicolon + 1
        if code[pos] == "{":
            kind, name = _classify(src, head_start, pos)
            # every frame holds the innermost function it is in (a function's, its own)
            owner = stack[-1].function if stack else -1
            if kind == "function":
                at = code.rfind(name, head_start, pos) if name and name[0] != "<" else -1
                owner = b.open_function(name or "<anonymous>", at if at >= 0 else pos)
            stack.append(_Frame(kind, owner, pos))
            if kind == "control":
                b.control(stack)
            head_start = pos + 1
        else:  # "}"
            if stack:
                frame = stack.pop()
                if frame.kind == "function":
                    b.close_function(frame.function, pos + 1)
            head_start = pos + 1
    for frame in stack:  # unclosed at the end of a fragment
        if frame.kind == "function":
            b.close_function(frame.function, len(code))


# Keyword-delimited blocks: (opener pattern, closer pattern, function pattern) per family.
_RUBY_TOKENS = re.compile(
    r"(?m)^[ \t]*(?:(?P<def>def)\s+(?P<name>(?:self\.)?[^\s(;]+)"
    r"|(?P<container>class|module)\b"
    r"|(?P<ctl>if|unless|while|until|case|begin|for)\b)"
    r"|(?<=[=(,;])[ \t]*(?P<ctl2>if|unless|case|begin|while|until)\b"
    r"|(?P<do>\bdo\b)|(?P<end>\bend\b)|(?P<ob>\{)|(?P<cb>\})")
_SHELL_TOKENS = re.compile(
    r"(?m)(?:^[ \t]*(?:function[ \t]+)?(?P<name>[\w.:-]+)[ \t]*\(\)[ \t]*\{?"
    r"|^[ \t]*function[ \t]+(?P<name2>[\w.:-]+)[ \t]*\{?)"
    r"|(?<![$\w-])(?P<ctl>if|case|do)\b(?!-)|(?<![$\w-])(?P<end>fi|esac|done)\b(?!-)"
    r"|(?<![$\w{])(?P<ob>\{)(?=\s)|(?<=[\s;])(?P<cb>\})")
_SQL_TOKENS = re.compile(
    r"(?im)\bcreate\s+(?:or\s+replace\s+)?(?:definer\s*=\s*\S+\s+)?"
    r"(?P<kind>function|procedure|trigger)\s+(?:if\s+not\s+exists\s+)?(?P<name>[\w.\"`\[\]]+)"
    r"|\bend\s+(?P<endkw>if|loop|case|while)\b|(?P<end>\bend\b)"
    r"|(?P<ctl>\bif\b(?!\s+(?:not\s+)?exists\b)|\bloop\b|\bcase\b)|(?P<begin>\bbegin\b)"
    r"|(?P<dollar>\$[A-Za-z_]*\$)")


def _keyword_blocks(src: Source, b: _Builder, tokens: re.Pattern[str]) -> None:
    """Ruby, shell and SQL: blocks opened and closed by keywords (and braces)."""
    code = src.code
    stack: list[_Frame] = []
    in_dollar: str | None = None
    pending_sql: int | None = None  # a SQL function whose body has not started yet
    for m in tokens.finditer(code):
        g = m.lastgroup
        pos = m.start()
        owner = next((f.function for f in reversed(stack) if f.kind == "function"), -1)
        if g in ("name", "name2", "def", "kind"):
            name = (m.group("name") or m.group("name2")) if g in ("name", "name2", "def") else (
                m.group("name"))
            if g in ("name", "name2") and name in ("if", "while", "until", "for", "case"):
                continue
            index = b.open_function(name.strip("\"`[]"), pos + len(m.group(0)) - len(
                m.group(0).lstrip()))
            if tokens is _SQL_TOKENS:
                pending_sql = index
                continue
            if tokens is _SHELL_TOKENS and not m.group(0).rstrip().endswith("{"):
                stack.append(_Frame("function-pending", index, pos))
                continue
            stack.append(_Frame("function", index, pos))
            continue
        if g == "dollar":  # a dollar-quoted body: the pending function's, if any
            if in_dollar is None:
                in_dollar = m.group(0)
                if pending_sql is not None:
                    stack.append(_Frame("function", pending_sql, pos))
                    pending_sql = None
                else:
                    stack.append(_Frame("dollar", owner, pos))
            elif m.group(0) == in_dollar:
                in_dollar = None
                while stack:
                    frame = stack.pop()
                    if frame.kind == "function":
                        b.close_function(frame.function, m.end())
                        break
                    if frame.kind == "dollar":
                        break
            continue
        if g == "begin" and pending_sql is not None:  # CREATE PROCEDURE p AS BEGIN ... END
            stack.append(_Frame("function", pending_sql, pos))
            pending_sql = None
            continue
        if g in ("container", "begin", "do", "ob"):
            if g == "do" and tokens is _RUBY_TOKENS:
                line_start = code.rfind("\n", 0, pos) + 1
                if re.match(r"[ \t]*(?:while|until|for)\b", code[line_start:pos]):
                    continue  # "while x do": one block, already open
            if g == "ob" and stack and stack[-1].kind == "function-pending":
                stack[-1].kind = "function"
                continue
            if g == "do" and tokens is _SHELL_TOKENS:
                stack.append(_Frame("control", owner, pos))
                b.control(stack)
                continue
            stack.append(_Frame("other", owner, pos))
            continue
        if g in ("ctl", "ctl2"):
            word = m.group(g).lower()
            if tokens is _SHELL_TOKENS and word == "do":
                stack.append(_Frame("control", owner, pos))
                b.control(stack)
                continue
            stack.append(_Frame("control", owner, pos))
            b.control(stack)
            continue
        if g in ("end", "endkw", "cb"):
            if not stack:
                if pending_sql is not None and g == "end":
                    b.close_function(pending_sql, m.end())
                    pending_sql = None
                continue
            frame = stack.pop()
            if frame.kind in ("function", "function-pending"):
                b.close_function(frame.function, m.end())
            elif not stack and pending_sql is not None and frame.kind == "other" and (
                    g == "end"):
                b.close_function(pending_sql, m.end())
                pending_sql = None
    for frame in stack:
        if frame.kind in ("function", "function-pending"):
            b.close_function(frame.function, len(code))
    if pending_sql is not None:
        b.close_function(pending_sql, len(code))


_PY_DEF = re.compile(r"^([ \t]*)(?:async\s+)?def\s+(\w+)\s*\(", re.MULTILINE)


def _indent_blocks(src: Source, b: _Builder) -> None:
    """Python that does not parse: blocks by indentation, functions from ``def`` lines."""
    lines = src.code.split("\n")
    depths = _indent_depths(lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for m in _PY_DEF.finditer(src.code):
        row = src.line_of(m.start()) - 1
        base = depths[row]
        end = row + 1
        while end < len(lines) and (not lines[end].strip() or depths[end] > base):
            end += 1
        index = b.open_function(m.group(2), m.start() + len(m.group(1)))
        b.close_function(index, offsets[end] - 1)
        inner = [depths[j] - base - 1 for j in range(row + 1, end) if lines[j].strip()]
        b.depths[index] = max([0, *inner])
        b.max_depth = max(b.max_depth, b.depths[index])


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _indent_depths(lines: list[str]) -> list[int]:
    """Block depth of each line from indentation: one level per step into a deeper indent,
    however many spaces it takes; continuation lines (inside open brackets, or after a
    trailing backslash) take their statement's depth."""
    stack: list[int] = []
    depths: list[int] = []
    open_brackets = 0
    continued = False
    current = 0
    for line in lines:
        if not line.strip():
            depths.append(current)
            continue
        if open_brackets > 0 or continued:
            depths.append(current)
        else:
            indent = _indent(line)
            while stack and stack[-1] >= indent:
                stack.pop()
            current = len(stack)
            stack.append(indent)
            depths.append(current)
        open_brackets = max(0, open_brackets + sum(line.count(c) for c in "([{")
                            - sum(line.count(c) for c in ")]}"))
        continued = line.rstrip().endswith("\\")
    return depths


def code_structure(src: Source) -> Structure:
    """Functions, branch points and block depth of any language but parsed Python."""
    family = family_of(src.language)
    b = _Builder(src)
    if family == "python":
        _indent_blocks(src, b)
    elif family == "ruby":
        _keyword_blocks(src, b, _RUBY_TOKENS)
    elif family == "shell":
        _keyword_blocks(src, b, _SHELL_TOKENS)
    elif family == "sql":
        _keyword_blocks(src, b, _SQL_TOKENS)
    elif "{" in src.code:
        _brace_blocks(src, b)
    total, decisions_of = _decisions(src, [
        (src.line_of(s), src.line_of(max(s, e - 1))) for _, s, e in b.functions])
    commented = _comment_end_lines(src)
    functions = []
    for i, (name, start, end) in enumerate(b.functions):
        first, last = src.line_of(start), src.line_of(max(start, end - 1))
        doc_line = _doc_comment_line(src, first, commented)
        functions.append(Function(
            name=name, line=first, lines=max(1, src.nonblank_lines(first, last)),
            decisions=decisions_of[i], depth=b.depths[i],
            documented=doc_line is not None, doc_line=doc_line,
            public=not name.startswith("_")))
    return Structure(functions, total, b.max_depth)


def _decision_offsets(src: Source) -> list[int]:
    """Where each branch point of the code starts, in order: one scan of the code."""
    family = family_of(src.language)
    code = src.code
    found = [m.start() for m in _DECISIONS.get(family, _DECISIONS["c"]).finditer(code)]
    if family == "python" and "case" in code:  # ^[ \t]*case\b, without trying every offset
        for m in _PY_CASE.finditer(code):
            line_start = code.rfind("\n", 0, m.start()) + 1
            if not code[line_start:m.start()].strip(" \t"):
                found.append(line_start)
        found.sort()
    return found


def _decisions(src: Source, spans: list[tuple[int, int]]) -> tuple[int, list[int]]:
    """Branch points of the whole code and of each function (given by its first and last
    line), each counted for the innermost function around it: a function's count is what its
    lines hold less what its inner functions' lines hold. The code is scanned once; each
    function's lines take the branch points between their offsets (by bisection)."""
    code = src.code
    starts = src.line_starts

    def offset(line: int) -> int:
        return starts[line - 1] if line - 1 < len(starts) else len(code)

    if family_of(src.language) == "sql":
        # SQL's look-ahead (IF EXISTS on the next line) may read past a function's last line,
        # where a scan of the function's lines alone stops: each function is scanned alone.
        pattern = _DECISIONS["sql"]
        total = len(pattern.findall(code))
        counts = [len(pattern.findall(code, offset(first), offset(last + 1)))
                  for first, last in spans]
    else:
        found = _decision_offsets(src)
        total = len(found)
        counts = [bisect_left(found, offset(last + 1)) - bisect_left(found, offset(first))
                  for first, last in spans]
    if not spans:
        return total, []
    own = list(counts)
    order = sorted(range(len(spans)), key=lambda k: (spans[k][0], -spans[k][1]))
    stack: list[int] = []
    for i in order:  # subtract each function from its closest enclosing one
        while stack and spans[stack[-1]][1] < spans[i][0]:
            stack.pop()
        if stack and spans[i][1] <= spans[stack[-1]][1] and spans[i] != spans[stack[-1]]:
            own[stack[-1]] -= counts[i]
        stack.append(i)
    return total, [max(0, n) for n in own]


def _comment_end_lines(src: Source) -> set[int]:
    return {src.line_of(max(a, e - 1)) for a, e in src.comments}


def _doc_comment_line(src: Source, line: int, commented: set[int]) -> int | None:
    """The line of the comment that ends above a definition (annotations and decorators in
    between are skipped), or ``None`` when there is none."""
    j = line - 1
    while j >= 1:
        text = src.line_text(j)
        if (j in commented and not text.startswith(("@", "#["))) or text.endswith("*/"):
            return j
        if text.startswith(("@", "#[", "[")):
            j -= 1
            continue
        return None
    return None
