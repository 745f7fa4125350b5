"""Static code heuristics: what a linter could measure, for ``skill_extraction``,
``code_quality`` and ``code_complexity``: language, libraries and domains, patterns, located
issues, strengths, the complexity and the score. Functions, branch points and block depth come
from :mod:`~aexy.providers.offline.structure`.

Every strength and every issue belongs to one *aspect* (documentation, types, function size,
error handling, logging, secrets); a strength is only claimed when no issue of its aspect was
found, so the two lists never contradict each other. The method and its thresholds are in
``docs/providers/offline.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from statistics import median

from aexy.analysis import AnalysisRequest
from aexy.catalogue.code import CodeComplexity, CodeIssue, CodeQuality, Hotspot, SkillExtraction
from aexy.catalogue.common import IssueCategory, Level
from aexy.providers.offline.common import plural
from aexy.providers.offline.lexicon import CODE_DOMAIN_CUES, EXTENSIONS, LIBRARIES
from aexy.providers.offline.structure import (
    Function,
    Structure,
    python_structure,
    stripped_lines,
    text_structure,
)

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
    code_lines = stripped_lines(code)
    loc = sum(1 for ln in code_lines if ln.strip())
    structure = python_structure(code, raw_lines) if language == "Python" else None
    if structure is None:
        braces = language not in ("Python", "Ruby", "YAML", "unknown") and "{" in code
        structure = text_structure(raw_lines, code_lines, braces)

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


def _documentable(structure: Structure) -> tuple[int, int]:
    """(documented, total) over public functions and classes, or over all when none is
    public; functions of languages whose doc comments are not read do not count."""
    units = [(f.public, bool(f.documented)) for f in structure.functions
             if f.documented is not None]
    units += [(not name.rsplit(".", 1)[-1].startswith("_"), doc)
              for name, doc in structure.classes]
    public = [u for u in units if u[0]] or units
    return sum(1 for u in public if u[1]), len(public)


def _findings(code: str, language: str, structure: Structure, is_test: bool
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


def _strengths(code: str, language: str, structure: Structure, is_test: bool,
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
