"""Functions, branch points and block depth of a piece of code.

Python is read with the standard library's parser (:mod:`ast`): functions (qualified names),
docstrings, type hints, branch points and nesting are exact. Code that does not parse, and other
languages, are read line by line with strings and comments removed. Block depth counts control
blocks (``if``/``for``/``while``/``with``/``try``/``match``, brace blocks), never brackets or
continuation lines; an ``elif``/``else if`` stays at its ``if``'s depth, and a ``{`` that opens
an object or struct literal is not a block.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

__all__ = ["Function", "Structure", "python_structure", "stripped_lines", "text_structure"]



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
class Structure:
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
        elif isinstance(s, ast.Match):  # match, then case: two blocks, as indented
            best = max(best, *(_py_depth(c.body, level + 2) for c in s.cases))
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


def python_structure(code: str, raw_lines: list[str]) -> Structure | None:
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
    return Structure(functions, total, max_depth, classes, parsed=True)


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


def stripped_lines(code: str) -> list[str]:
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


def text_structure(raw_lines: list[str], code_lines: list[str], braces: bool) -> Structure:
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
    return Structure(functions, decisions, max([0, *(f.depth for f in functions)]))


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
