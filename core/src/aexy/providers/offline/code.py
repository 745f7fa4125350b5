"""Static code heuristics: what a linter could measure, for ``skill_extraction``,
``code_quality`` and ``code_complexity``.

Python is read with the standard library's parser (:mod:`ast`), so functions, docstrings,
type hints, branch points and block nesting are exact; code that does not parse, and other
languages, are read line by line with strings and comments removed. Block depth counts
control blocks (``if``/``for``/``while``/``with``/``try``/``match``, brace blocks), never
brackets or continuation lines; an ``elif``/``else if`` stays at its ``if``'s depth.

Every strength and every issue belongs to one *aspect* (documentation, types, function size,
error handling, logging, secrets); a strength is only claimed when no issue of its aspect was
found, so the two lists never contradict each other. The method and its thresholds are in
``docs/providers/offline.md``.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from statistics import median

from aexy.analysis import AnalysisRequest
from aexy.catalogue.code import CodeComplexity, CodeIssue, CodeQuality, Hotspot, SkillExtraction
from aexy.catalogue.common import IssueCategory, Level
from aexy.providers.offline.common import plural
from aexy.providers.offline.lexicon import CODE_DOMAIN_CUES, EXTENSIONS, LIBRARIES

__all__ = [
    "CodeFacts",
    "Finding",
    "Function",
    "analyze_code",
    "code_complexity",
    "code_quality",
    "detect_language",
    "imports_of",
    "skill_extraction",
]

#: Findings per function (long, deeply nested) together cost at most this many points.
STRUCTURE_PENALTY_CAP = 3.0
#: A function longer than this many non-blank lines is flagged.
LONG_FUNCTION_LINES = 60
#: A function whose control blocks nest this deep is flagged.
DEEP_NESTING = 4
#: "Short functions": the median function is at most this long (and none is flagged long).
SHORT_FUNCTION_LINES = 25
#: At most this many issues are reported (most severe first), as the catalogue asks of models.
MAX_ISSUES = 15
#: What the summaries say about the method.
METHOD_NOTE = "Measured by aexy's offline heuristics (static analysis), not reviewed by a model."


# -- language --------------------------------------------------------------------------------------

# (language, pattern, weight): syntax cues for content without a file name.
_CUES: tuple[tuple[str, str, int], ...] = (
    ("Python", r"^\s*def \w+\(.*\)\s*(->\s*[^:]+)?:\s*$", 3),
    ("Python", r"^\s*(from [\w.]+ )?import [\w.]+", 1),
    ("Python", r"^\s*class \w+(\(.*\))?:\s*$", 2),
    ("Python", r"\bself\.\w+", 1),
    ("Python", r"^\s*elif\b|\bNone\b|\bTrue\b|\bFalse\b", 1),
    ("TypeScript", r"\binterface \w+\s*\{|:\s*(string|number|boolean)\b|\bexport type\b", 3),
    ("JavaScript", r"\bfunction\s*\w*\s*\(|=>|\bconst \w+\s*=|\brequire\(", 2),
    ("JavaScript", r"\bconsole\.log\(|\bexport (default|const|function)\b", 2),
    ("Go", r"^package \w+\s*$|\bfunc (\(\w+ \*?\w+\) )?\w+\(|:=", 3),
    ("Rust", r"\bfn \w+\(|\blet mut\b|\bimpl\b.*\{|\buse \w+::", 3),
    ("Java", r"\bpublic (static )?(class|void|final)\b|\bSystem\.out\.|@Override", 3),
    ("C#", r"\busing System|\bnamespace \w+|\bpublic async Task\b", 3),
    ("C", r"^#include\s*[<\"]|\bprintf\(|\bmalloc\(", 2),
    ("C++", r"\bstd::|\btemplate\s*<|#include <(iostream|vector|string)>", 3),
    ("Ruby", r"^\s*def \w+[^:(]*$|^\s*end\s*$|\bputs\b|\brequire '", 2),
    ("PHP", r"<\?php|\$\w+\s*=", 3),
    ("SQL", r"(?i)^\s*(select|insert into|create table|update \w+ set)\b", 3),
    ("Shell", r"^#!/bin/(ba)?sh|^\s*(echo|export|fi|then)\b", 2),
)


def detect_language(code: str, file_path: str | None) -> str:
    """The language from the file extension, else from weighted syntax cues; ``"unknown"``."""
    if file_path:
        lang = EXTENSIONS.get(PurePosixPath(file_path).suffix.lower())
        if lang:
            return lang
        if PurePosixPath(file_path).name == "Dockerfile":
            return "Dockerfile"
    scores: dict[str, int] = {}
    for lang, pattern, weight in _CUES:
        hits = len(re.findall(pattern, code, re.MULTILINE))
        if hits:
            scores[lang] = scores.get(lang, 0) + weight * min(hits, 5)
    if scores.get("TypeScript") and scores.get("JavaScript"):
        scores["TypeScript"] += scores["JavaScript"]
    if not scores:
        return "unknown"
    return max(sorted(scores), key=lambda k: scores[k])


# -- imports, frameworks, domains ------------------------------------------------------------------

_IMPORT_PATTERNS = (
    re.compile(r"^\s*from\s+([\w.]+)\s+import\b", re.MULTILINE),  # Python
    re.compile(r"^\s*import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)\s*$",
               re.MULTILINE),  # Python
    re.compile(r"""\bimport\s+(?:[\w*{}\s,]+\s+from\s+)?["']([^"']+)["']"""),  # JS/TS
    re.compile(r"""\brequire\(\s*["']([^"']+)["']\s*\)"""),  # CommonJS
    re.compile(r"""^\s*(?:import\s+)?(?:\w+\s+)?"([\w./-]+)"\s*$""", re.MULTILINE),  # Go
    re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+)(?:\.\*)?;", re.MULTILINE),  # Java/Kotlin
    re.compile(r"^\s*use\s+(\w+)::", re.MULTILINE),  # Rust
    re.compile(r"""^\s*import\s+["']([\w./-]+)["']""", re.MULTILINE),  # Go single import
)


def imports_of(code: str) -> list[str]:
    """Imported module names, in order of first appearance."""
    found: list[str] = []
    for pattern in _IMPORT_PATTERNS:
        for match in pattern.finditer(code):
            for part in match.group(1).split(","):
                name = part.strip().split(" as ")[0].strip()
                if name and name not in found:
                    found.append(name)
    return found


def _library_for(module: str) -> tuple[str, tuple[str, ...]] | None:
    if module in LIBRARIES:
        return LIBRARIES[module]
    for root, value in LIBRARIES.items():
        prefixed = "/" in root or (root.count(".") and not root.startswith("@"))
        if prefixed and module.startswith(root):
            return value
    head = module.split("/")[0] if module.startswith("@") else re.split(r"[./]", module)[0]
    return LIBRARIES.get(head)


_PATTERN_CUES: tuple[tuple[str, str], ...] = (
    ("async/await", r"\basync\s+(def|function|fn)\b|\bawait\b"),
    ("decorators", r"^\s*@\w[\w.]*"),
    ("dependency injection", r"\bDepends\(|@Inject\b|@Autowired\b|\binject\("),
    ("data classes", r"@dataclass\b|\(BaseModel\)|\brecord \w+\("),
    ("context managers", r"^\s*(async\s+)?with\s+.+:\s*$|__enter__|__aenter__"),
    ("generators", r"^\s*yield\b|\byield from\b|function\s*\*"),
    ("REST endpoints", r"@(app|router|api|bp|blueprint)\.(get|post|put|patch|delete|route)\(|"
                       r"\b(app|router)\.(get|post|put|delete)\(\s*['\"]/|@(Get|Post)Mapping"),
    ("middleware", r"(?i)\bmiddleware\b"),
    ("repository pattern", r"\bclass \w+Repository\b"),
    ("factory functions", r"\bdef (create_app|make_\w+|build_\w+)\(|\bclass \w+Factory\b"),
    ("token-based authentication", r"(?i)\bjwt\.(encode|decode)\b|\bsign\(|\bverify\(.*token"),
    ("OAuth2 flow", r"(?i)OAuth2\w*|authorization_code|client_credentials|redirect_uri"),
    ("password hashing", r"(?i)\b(bcrypt|passlib|pbkdf2|argon2|scrypt)\b|CryptContext"),
    ("caching", r"@(functools\.)?(lru_)?cache\b|\bcache\.(get|set)\("),
    ("React hooks", r"\buse(State|Effect|Memo|Callback|Context|Reducer|Ref)\("),
    ("comprehensions", r"\[[^\]\n]+\bfor\b[^\]\n]+\bin\b[^\]\n]+\]"),
    ("inheritance", r"^\s*class \w+\((?!object\))\w[\w.]*[^)]*\):|\bextends\s+\w+"),
    ("enumerations", r"\(\w*Enum\)|\benum\s+\w+\s*\{"),
    ("custom exceptions", r"class \w+(Error|Exception)\((\w*(Error|Exception))\)"),
)


# -- structure: functions, branch points, block depth --------------------------------------------

@dataclass(slots=True)
class Function:
    """One function or method as measured."""

    name: str  # qualified for Python methods and nested functions: "Class.method"
    line: int  # 1-based line of the definition
    lines: int  # non-blank lines, definition included
    decisions: int  # branch points in its own body (nested functions excluded)
    depth: int  # deepest control-block nesting in its body; 0 for straight-line code
    documented: bool | None = None  # None: not read for this language
    typed: bool | None = None
    public: bool = True


@dataclass(slots=True)
class _Structure:
    functions: list[Function]
    decisions: int  # the whole file's branch points
    max_depth: int  # the whole file's deepest block nesting
    classes: list[tuple[str, bool]] = field(default_factory=list)  # (name, documented)
    parsed: bool = False  # read by Python's own parser


# Python: the statements that open a control block.
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_WITHS = (ast.With, ast.AsyncWith)
_TRIES = (ast.Try, ast.TryStar)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_ONE_BRANCH = (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler,
               ast.match_case)


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
        elif isinstance(s, ast.Match):
            best = max(best, *(_py_depth(c.body, level + 1) for c in s.cases))
    return best


def _branches(node: ast.AST) -> int:
    """Branch points of one node: if/elif, loops, except, case, conditional expressions, each
    extra operand of and/or, comprehension loops and filters."""
    if isinstance(node, _ONE_BRANCH):
        return 1
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, ast.comprehension):
        return 1 + len(node.ifs)
    return 0


def _py_decisions(tree: ast.AST) -> tuple[int, dict[ast.AST, int]]:
    """Branch points of the whole tree, and of each function's own body (inner functions and
    classes count for themselves), in one walk."""
    per_function: dict[ast.AST, int] = {}
    total = 0
    stack: list[tuple[ast.AST, ast.AST | None]] = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        for child in ast.iter_child_nodes(node):
            n = _branches(child)
            if n:
                total += n
                if owner is not None:
                    per_function[owner] = per_function.get(owner, 0) + n
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                stack.append((child, child))
            else:
                stack.append((child, None if isinstance(child, ast.ClassDef) else owner))
    return total, per_function


def _py_typed(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
    params = [p for p in params if p.arg not in ("self", "cls")]
    return fn.returns is not None or any(p.annotation is not None for p in params)


def _python_structure(code: str, raw_lines: list[str]) -> _Structure | None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):  # a fragment, or another Python: read it as text
        return None
    functions: list[Function] = []
    classes: list[tuple[str, bool]] = []
    total, decisions = _py_decisions(tree)

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                classes.append((prefix + node.name, ast.get_docstring(node) is not None))
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                functions.append(Function(
                    name=prefix + node.name, line=node.lineno,
                    lines=sum(1 for ln in raw_lines[node.lineno - 1:end] if ln.strip()),
                    decisions=decisions.get(node, 0),
                    depth=_py_depth(node.body, 0),
                    documented=ast.get_docstring(node) is not None, typed=_py_typed(node),
                    public=not node.name.startswith("_"),
                ))
                visit(node.body, f"{prefix}{node.name}.")
            else:  # functions defined inside blocks (if TYPE_CHECKING: def ...)
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child], prefix)

    visit(tree.body, "")
    max_depth = max([_py_depth(tree.body, 0), *(f.depth for f in functions)])
    return _Structure(functions, total, max_depth, classes, parsed=True)


# Text reading, for other languages and Python that does not parse.
_DECISION = re.compile(
    r"\b(if|elif|else if|for|while|except|catch|case|when)\b|&&|\|\||\?\s*[^:?]+:|"
    r"\band\b|\bor\b"
)
_FUNC_DEFS = (
    re.compile(r"^([ \t]*)(?:async\s+)?def\s+(\w+)\s*\(", re.MULTILINE),  # Python
    re.compile(r"^([ \t]*)(?:export\s+)?(?:async\s+)?function\s*\*?\s*(\w+)\s*\(", re.MULTILINE),
    re.compile(r"^([ \t]*)(?:export\s+)?(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?\([^)]*\)\s*=>",
               re.MULTILINE),
    re.compile(r"""^([ \t]*)\w+\.((?:get|post|put|patch|delete)\(\s*["'][^"']+["'])\s*,"""
               r"\s*(?:async\s*)?(?:function\s*)?\(", re.MULTILINE),  # Express-style routes
    re.compile(r"^([ \t]*)func\s+(?:\([^)]*\)\s*)?(\w+)\s*\(", re.MULTILINE),  # Go
    re.compile(r"^([ \t]*)(?:pub\s+)?(?:async\s+)?fn\s+(\w+)", re.MULTILINE),  # Rust
    re.compile(r"^([ \t]*)(?:public|private|protected)\s+(?:static\s+)?[\w<>\[\]]+\s+(\w+)\s*\(",
               re.MULTILINE),  # Java/C#
)
_MULTILINE_NOISE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|/\*[\s\S]*?\*/|`[^`]*`')
# Whether a "{" opens a block or an object/struct literal, from the text before it.
_LITERAL_BEFORE = ("=", ":", "(", ",", "[", "?", "||", "&&", "??", "{", "return")
_BLOCK_KEYWORD = re.compile(
    r"\b(if|else|for|foreach|while|do|switch|try|catch|finally|class|interface|"
    r"struct|enum|union|impl|trait|namespace|module|mod|match|loop|unsafe|func|fn|function|"
    r"object|when|select|defer|go|static|init|get|set|synchronized|extern)\b"
)


def _strip_strings_and_comments(line: str) -> str:
    line = re.sub(r"(\"\"\"|''').*?\1|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`", '""', line)
    return re.sub(r"\s(#|//).*$|^\s*(#|//).*$", "", line)


def _code_lines(code: str) -> list[str]:
    """Lines with strings and comments removed; block comments and triple-quoted strings that
    span lines become empty lines, so line numbers stay."""
    blanked = _MULTILINE_NOISE.sub(lambda m: "\n" * m.group(0).count("\n") + '""', code)
    return [_strip_strings_and_comments(ln) for ln in blanked.splitlines()]


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _brace_depths(lines: list[str]) -> list[int]:
    """Block depth of each line from braces, counting only braces that open a block (after
    ``)``, ``=>`` or a block keyword), never object literals; a line's leading ``}`` counts as
    already closed."""
    stack: list[bool] = []  # True: a block brace
    depths: list[int] = []
    for line in lines:
        stripped = line.lstrip()
        leading = len(stripped) - len(stripped.lstrip("})]"))
        for ch in stripped[:leading]:
            if ch == "}" and stack:
                stack.pop()
        depths.append(sum(stack))
        segment_start = 0
        for i, ch in enumerate(stripped[leading:], start=leading):
            if ch == "{":
                before = stripped[segment_start:i]
                if not before.strip():  # Allman style: the opener is on the line above
                    before = _previous_code(lines, len(depths) - 1)
                stack.append(_opens_block(before))
                segment_start = i + 1
            elif ch == "}":
                if stack:
                    stack.pop()
                segment_start = i + 1
    return depths


def _opens_block(before: str) -> bool:
    """A block follows ``)``, ``=>`` or a block keyword (``else {``, ``for i := 0; ... {``,
    ``impl X {``); a literal follows ``=``, ``:``, ``(``, ``,``, ``return`` ... or a bare
    name (``Point {``)."""
    text = before.rstrip()
    if text.endswith((")", "=>")):
        return True
    if not text or text.endswith(_LITERAL_BEFORE):
        return False
    return bool(_BLOCK_KEYWORD.search(text))


def _previous_code(lines: list[str], index: int) -> str:
    for j in range(index - 1, -1, -1):
        if lines[j].strip():
            return lines[j]
    return ""


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
        for ch in line:
            if ch in "([{":
                open_brackets += 1
            elif ch in ")]}" and open_brackets:
                open_brackets -= 1
        continued = line.rstrip().endswith("\\")
    return depths


def _text_structure(raw_lines: list[str], code_lines: list[str], braces: bool) -> _Structure:
    depths = _brace_depths(code_lines) if braces else _indent_depths(code_lines)
    # Definitions are found in the raw text (route paths live in strings); branches are counted
    # in the text without strings and comments.
    text = "\n".join(raw_lines)
    starts: list[tuple[int, str]] = []
    for pattern in _FUNC_DEFS:
        for m in pattern.finditer(text):
            name = m.group(2)
            route = re.match(r"""(\w+)\(\s*["']([^"']+)["']""", name)
            if route:
                name = f"{route.group(1).upper()} {route.group(2)}"
            starts.append((text.count("\n", 0, m.start()) + 1, name))
    functions: list[Function] = []
    for line_no, name in sorted(dict(starts).items()):
        base = depths[line_no - 1]
        end = _function_end(code_lines, depths, line_no, braces)
        body = code_lines[line_no - 1:end]
        inner = [d - base - 1 for d, ln in zip(depths[line_no:end], code_lines[line_no:end],
                                               strict=False) if ln.strip()]
        documented = _comment_above(raw_lines, line_no)
        functions.append(Function(
            name=name, line=line_no, lines=max(1, sum(1 for b in body if b.strip())),
            decisions=sum(len(_DECISION.findall(b)) for b in body),
            depth=max([0, *inner]), documented=documented, public=not name.startswith("_"),
        ))
    decisions = sum(len(_DECISION.findall(ln)) for ln in code_lines)
    return _Structure(functions, decisions, max([0, *(f.depth for f in functions)]))


def _function_end(lines: list[str], depths: list[int], line_no: int, braces: bool) -> int:
    """The line (exclusive, 0-based) where the function defined on ``line_no`` ends: when the
    depth comes back to the definition's after its body. With braces, the body may open a few
    lines below (a long signature, Allman style); a one-line body ends on its own line."""
    base = depths[line_no - 1]
    entered = False
    for j in range(line_no, len(lines)):
        text = lines[j].strip()
        if not text:
            continue
        if depths[j] > base:
            entered = True
            continue
        if not braces:
            return j
        if entered:
            return j + 1 if text.startswith("}") else j
        if "{" in lines[line_no - 1] or j - line_no >= 3:
            return line_no  # a body on the definition's own line, or no body at all
    return len(lines)


def _comment_above(raw_lines: list[str], line_no: int) -> bool:
    """Whether a doc comment (``/** */``, ``///``, ``//``, ``#``) sits right above a line."""
    above = _previous_code(raw_lines, line_no - 1).strip()
    return above.endswith("*/") or above.startswith(("///", "//", "#", "*"))


# -- the measurements, and what they add up to ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class Finding:
    """One issue: where, how bad, and which aspect of the code it is about."""

    severity: str  # low | moderate | high | critical
    category: str  # an IssueCategory value
    description: str
    line: int
    suggestion: str
    aspect: str
    structural: bool = False  # per-function size or nesting finding (capped in the score)


@dataclass(frozen=True, slots=True)
class _Strength:
    label: str  # the quality indicator, e.g. "type hints"
    text: str  # the strength as stated, with its figure
    aspect: str
    scored: bool  # counts towards the quality score


_ISSUE_CUES: tuple[tuple[str, str, str, str, str, str], ...] = (
    # severity, category, aspect, regex, description, suggestion
    ("high", "security", "secrets",
     r"""(?i)\b\w*(password|passwd|secret|api_?key|token)\w*\s*[:=]\s*["'][^"'\s]{6,}["']""",
     "a credential appears to be hard-coded in the source",
     "Read credentials from the environment or a secret store, never from the source."),
    ("high", "security", "code execution", r"\beval\(|\bexec\(|\bnew Function\(",
     "dynamic code execution (eval/exec) can run untrusted input as code",
     "Replace eval/exec with explicit parsing or a lookup table."),
    ("high", "security", "sql",
     r"""(?i)\.execute\(\s*f["']|\.execute\(\s*["'][^"']*["']\s*(%|\+)|"""
     r"""["']\s*(select|insert|update|delete)\b[^"']*["']\s*\+""",
     "SQL is built by string formatting, which is open to injection",
     "Pass values to SQL as bound parameters instead of formatting them into the query."),
    ("high", "security", "tls", r"verify\s*=\s*False|rejectUnauthorized\s*:\s*false",
     "TLS certificate verification is disabled",
     "Keep TLS verification on; trust a private CA explicitly if needed."),
    ("moderate", "security", "hashing", r"(?i)\b(md5|sha1)\s*\(",
     "MD5/SHA-1 are not suitable for passwords or signatures",
     "Use a password hash (bcrypt, argon2) or SHA-256 and above for signatures."),
    ("moderate", "security", "randomness",
     r"(?i)\brandom\.(random|randint|choice)\(.*(token|secret|password)|"
     r"(token|secret|password).*\brandom\.(random|randint|choice)\(",
     "the random module is not cryptographically secure",
     "Generate tokens and secrets with the secrets module."),
    ("moderate", "bug", "error handling", r"^\s*except\s*:\s*$|^\s*catch\s*\(\s*\w*\s*\)\s*\{\s*\}",
     "a bare except or empty catch swallows every error, including bugs",
     "Catch the specific exceptions you expect and let the rest propagate."),
    ("moderate", "bug", "error handling", r"^\s*except\s+(Base)?Exception\b.*:\s*\n\s*pass\b",
     "exceptions are caught and silently ignored",
     "Log or handle caught exceptions instead of passing silently."),
    ("low", "maintainability", "unfinished work", r"\b(TODO|FIXME|XXX|HACK)\b",
     "unfinished work is marked in the code (TODO/FIXME)",
     "Finish or track the TODO/FIXME items in the issue tracker."),
    ("low", "maintainability", "logging", r"^\s*print\(|\bconsole\.log\(",
     "print/console.log is used where structured logging would be easier to control",
     "Use the logging framework instead of print/console.log."),
)
_SEVERITY_RANK = {"critical": 0, "high": 1, "moderate": 2, "low": 3}
_SEVERITY_COST = {"critical": 3.0, "high": 2.0, "moderate": 1.0, "low": 0.25}


@dataclass(slots=True)
class CodeFacts:
    """What the heuristics found in one piece of code."""

    language: str
    file_path: str | None
    loc: int
    imports: list[str]
    frameworks: list[str]
    domains: list[str]
    patterns: list[str]
    strengths: list[_Strength]
    issues: list[Finding]
    functions: list[Function]
    decisions: int
    max_depth: int
    parsed: bool

    @property
    def quality_indicators(self) -> list[str]:
        return [s.label for s in self.strengths]

    @property
    def complexity(self) -> int:
        """1-10: 1 + size (lines/120, at most 3) + branch points per function (/2.5, at most
        3.5) + block depth (x0.6, at most 2.5), rounded."""
        per_func = self.decisions / max(1, len(self.functions))
        value = (1.0 + min(3.0, self.loc / 120) + min(3.5, per_func / 2.5)
                 + min(2.5, self.max_depth * 0.6))
        return max(1, min(10, round(value)))

    @property
    def level(self) -> str:
        c = self.complexity
        return "low" if c <= 3 else "moderate" if c <= 6 else "high" if c <= 8 else "critical"

    @property
    def score(self) -> int:
        """1-10: 6, +0.75 per scored strength, minus each issue's cost (critical 3, high 2,
        moderate 1, low 0.25; per-function findings together at most 3), rounded half up."""
        gained = 0.75 * sum(1 for s in self.strengths if s.scored)
        structural = sum(_SEVERITY_COST[i.severity] for i in self.issues if i.structural)
        other = sum(_SEVERITY_COST[i.severity] for i in self.issues if not i.structural)
        value = 6.0 + gained - other - min(STRUCTURE_PENALTY_CAP, structural)
        return max(1, min(10, math.floor(value + 0.5)))

    def summary(self, analysis_type: str) -> str:
        where = f" in {self.file_path}" if self.file_path else ""
        libs = ", ".join(self.frameworks[:4]) or "no recognised libraries"
        base = (f"{self.language} code{where}: {plural(self.loc, 'line')}, "
                f"{plural(len(self.functions), 'function')}, "
                f"{plural(self.decisions, 'branch point')}, deepest block nesting "
                f"{self.max_depth}; uses {libs}.")
        if analysis_type == "code_quality":
            base += f" {plural(len(self.issues), 'possible issue')} flagged; score {self.score}/10."
        elif analysis_type == "code_complexity":
            base += f" Estimated complexity {self.complexity}/10 ({self.level})."
        return f"{base} {METHOD_NOTE}"


def analyze_code(code: str, file_path: str | None = None,
                 language_hint: str | None = None) -> CodeFacts:
    """Run every heuristic over ``code``. Pure and deterministic. ``language_hint`` is used
    only when neither the path nor the code tells the language."""
    language = detect_language(code, file_path)
    if language == "unknown" and language_hint and language_hint.strip():
        language = language_hint.strip()
    raw_lines = code.splitlines()
    code_lines = _code_lines(code)
    loc = sum(1 for ln in code_lines if ln.strip())
    structure = _python_structure(code, raw_lines) if language == "Python" else None
    if structure is None:
        braces = language not in ("Python", "Ruby", "YAML", "unknown") and "{" in code
        structure = _text_structure(raw_lines, code_lines, braces)

    frameworks: list[str] = []
    domains: list[str] = []
    imports = imports_of(code)
    for module in imports:
        lib = _library_for(module)
        if lib is None:
            continue
        if lib[0] not in frameworks:
            frameworks.append(lib[0])
        domains += [d for d in lib[1] if d not in domains]
    for domain, pattern in CODE_DOMAIN_CUES:
        if domain not in domains and len(re.findall(pattern, code, re.MULTILINE)) >= 2:
            domains.append(domain)
    patterns = [name for name, pattern in _PATTERN_CUES if re.search(pattern, code, re.MULTILINE)]

    is_test = bool(re.search(r"^\s*(async\s+)?def test_\w+|\b(describe|it|test)\(\s*['\"]|"
                             r"@Test\b|#\[test\]", code, re.MULTILINE))
    issues = _findings(code, language, structure, is_test)
    strengths = _strengths(code, language, structure, is_test, issues)
    issues.sort(key=lambda i: (_SEVERITY_RANK[i.severity], i.line))  # most severe first
    return CodeFacts(
        language=language, file_path=file_path, loc=loc, imports=imports, frameworks=frameworks,
        domains=domains, patterns=patterns, strengths=strengths, issues=issues[:MAX_ISSUES],
        functions=structure.functions, decisions=structure.decisions,
        max_depth=structure.max_depth, parsed=structure.parsed,
    )


def _documentable(structure: _Structure) -> tuple[int, int]:
    """(documented, total) over public functions and classes, or over all when none is
    public; functions of languages whose doc comments are not read do not count."""
    units = [(f.public, bool(f.documented)) for f in structure.functions
             if f.documented is not None]
    units += [(not name.rsplit(".", 1)[-1].startswith("_"), doc)
              for name, doc in structure.classes]
    public = [u for u in units if u[0]] or units
    return sum(1 for u in public if u[1]), len(public)


def _findings(code: str, language: str, structure: _Structure, is_test: bool
              ) -> list[Finding]:
    issues: list[Finding] = []
    for severity, category, aspect, pattern, description, suggestion in _ISSUE_CUES:
        match = re.search(pattern, code, re.MULTILINE)
        if match:
            issues.append(Finding(severity, category, description,
                                  code.count("\n", 0, match.start()) + 1, suggestion, aspect))
    for f in structure.functions:
        if f.lines > LONG_FUNCTION_LINES:
            issues.append(Finding(
                "moderate", "maintainability", f"function {f.name} is long ({f.lines} lines)",
                f.line, "Split long functions into smaller ones with one job each.",
                "function size", structural=True))
        if f.depth >= DEEP_NESTING:
            issues.append(Finding(
                "moderate", "readability",
                f"function {f.name} nests control blocks {f.depth} deep", f.line,
                "Flatten deeply nested functions with early returns or helper functions.",
                "nesting", structural=True))
    long_lines = [i + 1 for i, ln in enumerate(code.splitlines()) if len(ln) > 120]
    if long_lines:
        issues.append(Finding(
            "low", "style", f"{plural(len(long_lines), 'line')} longer than 120 characters",
            long_lines[0], "Wrap long lines (a formatter such as ruff or prettier does it).",
            "style"))
    if language == "Python" and not is_test:
        documented, total = _documentable(structure)
        first = structure.functions[0].line if structure.functions else 1
        if total and documented == 0:
            issues.append(Finding(
                "low", "documentation", f"none of the {plural(total, 'public function')} and "
                "classes has a docstring" if total > 1 else "the public function or class "
                "has no docstring", first, "Add docstrings to public functions and classes.",
                "documentation"))
        elif total and documented / total < 0.5:
            issues.append(Finding(
                "low", "documentation",
                f"only {documented} of {total} public functions and classes have a docstring",
                first, "Add docstrings to public functions and classes.", "documentation"))
    typed_funcs = [f for f in structure.functions if f.typed is not None]
    if typed_funcs:
        typed = sum(1 for f in typed_funcs if f.typed)
        if typed / len(typed_funcs) < 0.5:
            issues.append(Finding(
                "low", "maintainability",
                f"type hints on only {typed} of {plural(len(typed_funcs), 'function')}",
                typed_funcs[0].line, "Add type hints and check them with mypy.", "types"))
    return issues


def _strengths(code: str, language: str, structure: _Structure, is_test: bool,
               issues: list[Finding]) -> list[_Strength]:
    found: list[_Strength] = []
    funcs = structure.functions
    typed_funcs = [f for f in funcs if f.typed is not None]
    if typed_funcs:
        typed = sum(1 for f in typed_funcs if f.typed)
        if typed / len(typed_funcs) >= 0.5:
            found.append(_Strength("type hints", f"type hints on {typed} of "
                                   f"{plural(len(typed_funcs), 'function')}", "types", True))
    elif language == "TypeScript":
        found.append(_Strength("static types (TypeScript)", "static types (TypeScript)",
                               "types", True))
    documented, total = _documentable(structure)
    if total and documented / total >= 0.5:
        found.append(_Strength("docstrings", f"docstrings on {documented} of {total} public "
                               "functions and classes" if language == "Python" else
                               f"doc comments on {documented} of {total} functions",
                               "documentation", True))
    if is_test:
        found.append(_Strength("tests", "contains tests", "tests", True))
    if re.search(r"^\s*except\s+[A-Z]\w*|\bcatch\s*\(\s*\w+|\braise \w+Error\(|\bthrow new \w+",
                 code, re.MULTILINE):
        found.append(_Strength("explicit error handling", "catches and raises specific errors",
                               "error handling", True))
    if re.search(r"\blogging\.|\blogger\.\w+\(|\blog\.(info|warn|error|debug)\(", code):
        found.append(_Strength("logging", "uses a logging framework", "logging", False))
    if re.search(r"\bos\.environ|\bgetenv\(|\bprocess\.env\.|BaseSettings\b", code):
        found.append(_Strength("configuration from the environment",
                               "reads configuration from the environment", "secrets", False))
    if funcs:
        mid = median(f.lines for f in funcs)
        if mid <= SHORT_FUNCTION_LINES:
            found.append(_Strength("small functions", f"short functions (median "
                                   f"{plural(mid, 'line')})", "function size", True))
    if re.search(r"^[A-Z][A-Z0-9_]{2,}\s*(:\s*[\w\[\], ]+)?=", code, re.MULTILINE):
        found.append(_Strength("named constants", "names its constants", "constants", False))
    # A strength is only claimed when no issue speaks against the same aspect.
    against = {i.aspect for i in issues}
    return [s for s in found if s.aspect not in against]


# -- results ---------------------------------------------------------------------------------------

def _facts(request: AnalysisRequest) -> CodeFacts:
    ctx = request.context
    path = ctx.get("file_path") if isinstance(ctx.get("file_path"), str) else None
    hint = ctx.get("language") if isinstance(ctx.get("language"), str) else None
    return analyze_code(request.content, path, hint)


def skill_extraction(request: AnalysisRequest) -> SkillExtraction:
    facts = _facts(request)
    return SkillExtraction(
        language=facts.language, frameworks=facts.frameworks, patterns=facts.patterns,
        complexity=facts.complexity, quality_indicators=facts.quality_indicators,
        domains=facts.domains,
    )


def code_quality(request: AnalysisRequest) -> CodeQuality:
    facts = _facts(request)
    suggestions = list(dict.fromkeys(i.suggestion for i in facts.issues))
    return CodeQuality(
        score=facts.score, strengths=[s.text for s in facts.strengths],
        issues=[CodeIssue(severity=Level(i.severity), category=IssueCategory(i.category),
                          description=i.description, line=i.line) for i in facts.issues],
        suggestions=suggestions, summary=facts.summary("code_quality"),
    )


def code_complexity(request: AnalysisRequest) -> CodeComplexity:
    facts = _facts(request)
    hot = sorted((f for f in facts.functions if f.decisions),
                 key=lambda f: (-f.decisions, -f.depth, f.line))
    return CodeComplexity(
        complexity=facts.complexity, cognitive_load=Level(facts.level),
        hotspots=[Hotspot(name=f.name, reason=f"{plural(f.decisions, 'branch point')}, block "
                          f"nesting {f.depth}, {plural(f.lines, 'line')} (line {f.line})")
                  for f in hot[:3]],
        summary=facts.summary("code_complexity"),
    )
