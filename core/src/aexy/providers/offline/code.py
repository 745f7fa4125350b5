"""Static code heuristics: what a linter could measure, for ``skill_extraction``,
``code_quality`` and ``code_complexity``: language, libraries and domains, patterns, located
issues, strengths, the complexity and the score.

Each file is read once (:func:`~aexy.providers.offline.syntax.lex`: comments and string bodies
blanked) and Python is parsed once (:mod:`ast`); every pattern then runs over the code alone, so
a word in a comment or a string never counts as code. The identifiers of the code are collected
in one pass, and a pattern runs only when the words it needs are there. Functions, branch
points and block depth come from :mod:`~aexy.providers.offline.structure`.

Every strength and every issue belongs to one *aspect* (documentation, types, function size,
error handling, logging, secrets); a strength is only claimed when no issue of its aspect was
found, so the two lists never contradict each other. Every claim carries its evidence: the line
it was seen on. The method and its thresholds are in ``docs/providers/offline.md``.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from statistics import median

from aexy.analysis import AnalysisRequest
from aexy.catalogue.code import (
    CodeComplexity,
    CodeIssue,
    CodeQuality,
    Hotspot,
    LibraryUse,
    QualityIndicator,
    SkillExtraction,
    Strength,
)
from aexy.catalogue.common import IssueCategory, Level
from aexy.providers.offline.common import plural
from aexy.providers.offline.lexicon import (
    C_SYSTEM_DIRS,
    C_SYSTEM_HEADERS,
    CODE_DOMAIN_CUES,
    EXTENSIONS,
    JAVA_PLATFORM,
    LIBRARIES,
    NODE_BUILTINS,
    RUBY_STDLIB,
    RUST_BUILTIN_ROOTS,
)
from aexy.providers.offline.scan import Finder, LineStart, first
from aexy.providers.offline.structure import (
    Function,
    Structure,
    code_structure,
    python_structure,
)
from aexy.providers.offline.syntax import Source, family_of, lex

__all__ = [
    "CodeFacts",
    "Finding",
    "Function",
    "Import",
    "analyze_code",
    "code_complexity",
    "code_quality",
    "detect_language",
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
#: Confidence of an answer, by how the code was read: parsed by the language's own parser; lexed
#: as a language named by the file's extension; a language told by the content alone; unknown.
CONFIDENCE = {"parsed": 0.9, "lexed": 0.75, "guessed": 0.5, "unknown": 0.2}


# -- language --------------------------------------------------------------------------------------

_SHEBANG = re.compile(r"\A#![ \t]*(?:\S*/)?(?:env[ \t]+(?:-\S+[ \t]+)*)?([\w.]+)")
_SHEBANG_LANGUAGES = {"python": "Python", "python3": "Python", "bash": "Shell", "sh": "Shell",
                      "zsh": "Shell", "dash": "Shell", "ksh": "Shell", "node": "JavaScript",
                      "deno": "TypeScript", "ruby": "Ruby", "perl": "Perl", "php": "PHP",
                      "lua": "Lua", "Rscript": "R"}

# (language, pattern, weight): syntax cues for content without a file name.
_CUES: tuple[tuple[str, str, int], ...] = (
    ("Python", r"^[ \t]*def \w+\(.*\)\s*(->\s*[^:]+)?:\s*$", 3),
    ("Python", r"^[ \t]*(from [\w.]+ )?import [\w.]+( as \w+)?(, ?[\w.]+( as \w+)?)*\s*$", 1),
    ("Python", r"^[ \t]*class \w+(\(.*\))?:\s*$", 2),
    ("Python", r"\bself\.\w+", 1),
    ("Python", r"^[ \t]*elif\b|\bNone\b|\bTrue\b|\bFalse\b", 1),
    # TypeScript only: declarations and annotations JavaScript has no syntax for.
    ("TypeScript", r"^[ \t]*(export\s+)?(declare\s+)?(interface|type)\s+\w+(<[^>\n]*>)?\s*[={]|"
                   r"^[ \t]*import\s+type\b|\b(private|public|protected|readonly)\s+\w+\s*[:?]|"
                   r"[\w)]\??:\s*(string|number|boolean|any|unknown|void|never)\b(\[\])?\s*[,)=;{]|"
                   r"\bas\s+(const|string|number|unknown|any)\b|\bimplements\s+\w", 3),
    ("JavaScript", r"\bfunction\s*\w*\s*\(|=>|\bconst \w+\s*=|\brequire\(", 2),
    ("JavaScript", r"\bconsole\.log\(|\bexport (default|const|function)\b|\bmodule\.exports\b", 2),
    ("Go", r"^package \w+\s*$|\bfunc (\(\w+ \*?\w+\) )?\w+\(|:=|^import \($", 3),
    ("Rust", r"\bfn \w+(<[^>\n]*>)?\(|\blet mut\b|\bimpl\b.*\{|\buse \w+::|#\[derive\(", 3),
    ("Java", r"\bpublic (static )?(class|void|final)\b|\bSystem\.out\.|@Override|"
             r"^import (static )?[\w.]+(\.\*)?;\s*$", 3),
    ("C#", r"\busing System|\bnamespace \w+|\bpublic async Task\b", 3),
    ("C", r"^#include\s*[<\"]|\bprintf\(|\bmalloc\(", 2),
    ("C++", r"\bstd::|\btemplate\s*<|#include <(iostream|vector|string|memory)>", 3),
    ("Ruby", r"^[ \t]*def \w+[^:(\n]*$|^[ \t]*end\s*$|\bputs\b|\brequire '|\bdo \|\w+\|", 2),
    ("PHP", r"<\?php|\$\w+\s*=", 3),
    ("SQL", r"(?i)^[ \t]*(select|insert into|create table|update \w+ set|alter table)\b", 3),
    ("Shell", r"^[ \t]*(echo|export|fi|then|done|esac)\b|\$\{\w+[:}]|^[ \t]*\w+\(\)\s*\{", 2),
)
_CUE_PATTERNS = tuple((lang, re.compile(p, re.MULTILINE), w) for lang, p, w in _CUES)


def detect_language(code: str, file_path: str | None) -> str:
    """The language from the file's extension (or name), else from a ``#!`` line, else from
    weighted syntax cues; TypeScript only where TypeScript-only syntax is seen; else
    ``"unknown"``."""
    if file_path:
        path = PurePosixPath(file_path.replace("\\", "/"))
        lang = EXTENSIONS.get(path.suffix.lower())
        if lang:
            return lang
        if path.name == "Dockerfile" or path.name.startswith("Dockerfile."):
            return "Dockerfile"
        if path.name in ("Makefile", "GNUmakefile"):
            return "Makefile"
    shebang = _SHEBANG.match(code)
    if shebang:
        lang = _SHEBANG_LANGUAGES.get(re.sub(r"[\d.]+$", "", shebang.group(1)) or "")
        if lang:
            return lang
    sample = code[:20_000]
    scores: dict[str, int] = {}
    for lang, pattern, weight in _CUE_PATTERNS:
        hits = sum(1 for _ in zip(range(5), pattern.finditer(sample), strict=False))
        if hits:
            scores[lang] = scores.get(lang, 0) + weight * hits
    if scores.get("TypeScript"):  # TypeScript is JavaScript with types
        scores["TypeScript"] += scores.get("JavaScript", 0)
    if not scores:
        return "unknown"
    return max(sorted(scores), key=lambda k: scores[k])


# -- imports and libraries -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Import:
    """One import as the code states it."""

    module: str  # as written: "flask.json", "@babel/core/lib/x", "github.com/a/b/c", "serde_json"
    line: int
    external: bool  # not the language's own library, not the project's own code
    library: str  # what is installed for it: "flask", "@babel/core", "github.com/a/b"


_PY_STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w.]+(?:[ \t]+as[ \t]+\w+)?"
                        r"(?:[ \t]*,[ \t]*[\w.]+(?:[ \t]+as[ \t]+\w+)?)*)", re.MULTILINE)
_PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import\b", re.MULTILINE)
# Import statements and calls up to the opening quote of the module's name (each branch starts
# with its word: see aexy.providers.offline.scan).
_JS_IMPORT = re.compile(
    r"import(?:(?<!\wimport)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?"
    r"|(?<![\w.$]import)\s*\(\s*)[\"'`]"
    r"|export(?<!\wexport)\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s+from\s+[\"'`]"
    r"|require(?<![\w.$]require)\s*\(\s*[\"'`]")
_GO_IMPORT = re.compile(r"^[ \t]*import[ \t]+(?:[\w.]+[ \t]+)?\"|^[ \t]*import[ \t]*\(",
                        re.MULTILINE)
_GO_BLOCK_LINE = re.compile(r"^[ \t]*(?:[\w.]+[ \t]+)?\"", re.MULTILINE)
# Rust's expressions that start at a line's start read the code after a "\n" put before it
# (a literal prefix: see aexy.providers.offline.scan); the other branches start with their word.
_RUST_USE = re.compile(r"\n[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?use[ \t]+(?:::)?([A-Za-z_]\w*)"
                       r"|extern(?<!\wextern)[ \t]+crate[ \t]+([A-Za-z_]\w*)")
_RUST_PATH = re.compile(r"(?<![\w:$])([a-z_][a-z0-9_]*)::(?=[A-Za-z_{*])")
# Names a ``use`` brings into scope (its last segments), which are then no crate roots.
_RUST_USE_BLOCK = re.compile(r"use(?<!\wuse)[ \t]+([\w:{}, \t\n*]+?);")
_RUST_TOOLS = frozenset({"clippy", "rustfmt", "rustdoc"})
_RUST_LOCAL = re.compile(r"\n[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+(\w+)|"
                         r"use(?<!\wuse)[ \t]+(?:crate|self|super)::(?:[\w:]*::)?\{?"
                         r"([\w, \t\n]+)\}?")
_IDENTIFIER = re.compile(r"\w+")
_JAVA_IMPORT = re.compile(r"^[ \t]*import[ \t]+(?:static[ \t]+)?([\w.]+?)(?:\.\*|\.\{[^}]*\})?"
                          r"[ \t]*;?[ \t]*$", re.MULTILINE)
_JAVA_PACKAGE = re.compile(r"^[ \t]*package[ \t]+([\w.]+)", re.MULTILINE)
_CSHARP_USING = re.compile(r"^[ \t]*(?:global[ \t]+)?using[ \t]+(?:static[ \t]+)?([\w.]+)[ \t]*;",
                           re.MULTILINE)
_RUBY_REQUIRE = re.compile(r"^[ \t]*(require|require_relative|gem|load)[ \t]*\(?[ \t]*[\"']",
                           re.MULTILINE)
_C_INCLUDE = re.compile(r"^[ \t]*#[ \t]*(?:include|import)[ \t]*([<\"])", re.MULTILINE)
_REVERSE_DOMAINS = frozenset({"com", "org", "net", "io", "dev", "me", "edu", "gov", "co", "uk",
                              "de", "fr", "ch", "nl", "ru", "cn", "jp", "info", "app", "tech"})
_GO_HOSTS_WITH_OWNER = frozenset({"github.com", "gitlab.com", "bitbucket.org", "golang.org",
                                  "cloud.google.com", "git.sr.ht", "codeberg.org"})


def _literal_after(src: Source, quote_end: int, quote: str) -> tuple[str, int] | None:
    """The body of the literal whose opening quote ends at ``quote_end`` (blanked in the code,
    read from the text), and the offset where it starts."""
    close = src.code.find(quote, quote_end)
    if close < 0 or "\n" in src.code[quote_end:close]:
        return None
    return src.text[quote_end:close], quote_end


def _own_dirs(file_path: str | None, repository: str | None = None) -> frozenset[str]:
    """Names of the project's own modules as the file's path (its directories) and the
    repository's name tell them."""
    parts: tuple[str, ...] = ()
    if file_path:
        parts = PurePosixPath(file_path.replace("\\", "/")).parts[:-1]
    return _own_names(parts, repository)


@lru_cache(maxsize=1024)  # the files of a batch share their directories
def _own_names(parts: tuple[str, ...], repository: str | None) -> frozenset[str]:
    if repository and len(repository) <= 100 and " " not in repository.strip():
        name = repository.strip().rstrip("/").rsplit("/", 1)[-1].lower()
        parts += (name, re.sub(r"\d+$", "", name))
    # "tokio-util-0.7.10" is the directory of the crate tokio_util
    names = {re.sub(r"-v?\d[\w.]*$", "", p) for p in parts}
    return frozenset(n for p in names for n in (p, p.replace("-", "_"))
                     if p not in ("src", "lib", "pkg", "package", "", "/"))


def _go_library(path: str) -> str:
    parts = path.split("/")
    keep = 3 if parts[0] in _GO_HOSTS_WITH_OWNER else 2
    return "/".join(parts[:keep])


def _java_library(module: str) -> str:
    parts = module.split(".")
    keep = 3 if parts[0] in _REVERSE_DOMAINS else 2
    # a class name (capitalised) is never part of the library's name
    lib = [p for p in parts[:keep] if not p[:1].isupper()]
    return ".".join(lib or parts[:1])


def _imports(src: Source, file_path: str | None,
             statements: list[ast.Import | ast.ImportFrom] | None,
             repository: str | None = None) -> list[Import]:
    lang = src.language
    family = family_of(lang)
    own = _own_dirs(file_path, repository)
    out: list[Import] = []
    code = src.code
    if lang == "Python":
        if statements is not None:
            for node in statements:
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        out.append(_python_import(alias.name, node.lineno, own))
                else:
                    name = "." * node.level + (node.module or "")
                    out.append(_python_import(name, node.lineno, own))
        else:
            for m in _PY_IMPORT.finditer(code):
                for part in m.group(1).split(","):
                    out.append(_python_import(part.split()[0], src.line_of(m.start()), own))
            for m in _PY_FROM.finditer(code):
                out.append(_python_import(m.group(1), src.line_of(m.start()), own))
        out.sort(key=lambda i: i.line)
    elif lang in ("JavaScript", "TypeScript", "Vue", "Svelte"):
        for m in _JS_IMPORT.finditer(code):
            found = _literal_after(src, m.end(), code[m.end() - 1])
            if found is None or not found[0]:
                continue
            module = found[0]
            if module.startswith("node:") or module in NODE_BUILTINS or module.split("/")[
                    0] in NODE_BUILTINS:
                out.append(Import(module, src.line_of(m.start()), False, module))
                continue
            external = not module.startswith((".", "/", "~", "#", "@/", "$")) and "${" not in (
                module)
            parts = module.split("/")
            library = "/".join(parts[:2]) if module.startswith("@") else parts[0]
            out.append(Import(module, src.line_of(found[1]), external, library))
    elif lang == "Go":
        for m in _GO_IMPORT.finditer(code):
            if m.group(0).rstrip().endswith("("):
                close = code.find(")", m.end())
                close = len(code) if close < 0 else close
                for line in _GO_BLOCK_LINE.finditer(code, m.end(), close):
                    _add_go(src, line.end(), out, own, file_path)
            else:
                _add_go(src, m.end(), out, own, file_path)
    elif lang == "Rust":
        lines = "\n" + code  # offsets in it are one past those in the code
        local = {x.strip() for m in _RUST_LOCAL.finditer(lines) for g in m.groups() if g
                 for x in g.replace("\n", ",").split(",") if x.strip()} | _RUST_TOOLS
        for m in _RUST_USE_BLOCK.finditer(code):
            local |= {w for w in _IDENTIFIER.findall(m.group(1))[1:]}
        seen: set[str] = set()
        for m in _RUST_USE.finditer(lines):
            root = m.group(1) or m.group(2)
            if root in RUST_BUILTIN_ROOTS or root in local or root in seen:
                continue
            seen.add(root)
            # a use's line starts after its "\n" (the offset in the code), an extern crate
            # where it stands (one less)
            at = m.start() if m.group(1) else m.start() - 1
            out.append(Import(root, src.line_of(at), root not in own, root))
        for m in _RUST_PATH.finditer(code):
            root = m.group(1)
            if root in RUST_BUILTIN_ROOTS or root in local or root in seen:
                continue
            seen.add(root)
            out.append(Import(root, src.line_of(m.start()), root not in own, root))
    elif lang in ("Java", "Kotlin", "Scala", "Groovy"):
        package = _JAVA_PACKAGE.search(code)
        mine = ".".join(package.group(1).split(".")[:3]) + "." if package else None
        for m in _JAVA_IMPORT.finditer(code):
            module = m.group(1)
            external = not module.startswith(JAVA_PLATFORM) and not (
                mine and (module + ".").startswith(mine))
            out.append(Import(module, src.line_of(m.start()), external, _java_library(module)))
    elif lang == "C#":
        for m in _CSHARP_USING.finditer(code):
            module = m.group(1)
            external = not module.startswith(("System", "Microsoft."))
            out.append(Import(module, src.line_of(m.start()), external,
                              ".".join(module.split(".")[:2])))
    elif lang == "Ruby":
        for m in _RUBY_REQUIRE.finditer(code):
            quote = code[m.end() - 1]
            found = _literal_after(src, m.end(), quote)
            if found is None or not found[0] or "#{" in found[0]:
                continue
            module = found[0]
            root = module.split("/")[0]
            external = m.group(1) in ("require", "gem") and root not in RUBY_STDLIB and (
                module not in RUBY_STDLIB) and root not in own and not module.startswith(".")
            out.append(Import(module, src.line_of(m.start()), external, root.replace("-", "_")
                              if m.group(1) == "require" else root))
    elif lang in ("C", "C++", "Objective-C"):
        for m in _C_INCLUDE.finditer(code):
            if m.group(1) == "<":
                close = code.find(">", m.end())
                if close < 0 or "\n" in code[m.end():close]:
                    continue
                header = code[m.end():close].strip()
            else:
                found = _literal_after(src, m.end(), '"')
                if found is None:
                    continue
                header = found[0].strip()
            out.append(_c_include(header, m.group(1) == "<", src.line_of(m.start()), own))
    elif family == "hash_c" and lang == "PHP":
        for m in re.finditer(r"^[ \t]*use[ \t]+\\?([\w\\]+)", code, re.MULTILINE):
            module = m.group(1).replace("\\", "/")
            out.append(Import(module, src.line_of(m.start()), True,
                              "/".join(module.split("/")[:2])))
    return out


def _python_import(name: str, line: int, own: frozenset[str]) -> Import:
    root = name.split(".")[0]
    external = bool(root) and not name.startswith(".") and root not in _PY_STDLIB and (
        root not in own)
    return Import(name, line, external, root or name)


def _add_go(src: Source, quote_end: int, out: list[Import], own: frozenset[str],
            file_path: str | None) -> None:
    found = _literal_after(src, quote_end, '"')
    if found is None or not found[0]:
        return
    path = found[0]
    library = _go_library(path)
    external = "." in path.split("/")[0] and not (file_path and library in file_path)
    out.append(Import(path, src.line_of(quote_end), external, library))


def _c_include(header: str, angle: bool, line: int, own: frozenset[str]) -> Import:
    parts = header.split("/")
    system = (
        (angle and len(parts) == 1 and ("." not in header or header in C_SYSTEM_HEADERS))
        or (len(parts) > 1 and parts[0] in C_SYSTEM_DIRS)
        or header in C_SYSTEM_HEADERS
    )
    root = parts[0] if len(parts) > 1 else header.rsplit(".", 1)[0]
    local = (not angle and len(parts) == 1) or root in own or header.startswith(".")
    return Import(header, line, not system and not local, root)


def _library_for(name: str) -> tuple[str, tuple[str, ...]] | None:
    """The known library (display name, domains) an import's library or module names."""
    found = LIBRARIES.get(name)
    if found is not None:
        return found
    for root, value in _PREFIXED:
        if name.startswith(root) and (len(name) == len(root) or name[len(root)] in "./"):
            return value
    head = name.split("/")[0] if not name.startswith("@") else "/".join(name.split("/")[:1])
    return LIBRARIES.get(head) or LIBRARIES.get(re.split(r"[./]", name)[0])


_PREFIXED = sorted(((k, v) for k, v in LIBRARIES.items() if "/" in k or "." in k),
                   key=lambda kv: -len(kv[0]))


_COMPREHENSION_TAIL = re.compile(r"for[ \t]+[\w(][^\n:]*\bin\b[^\n:]*[\])}]")
_COMPREHENSION_BEFORE = frozenset(")]}\"'_")


def _comprehension(code: str) -> int | None:
    r"""Where ``[\w)\]}"'][ \t]+(?:async[ \t]+)?for[ \t]+[\w(][^\n:]*\bin\b[^\n:]*[\])}]``
    first matches a ``for`` (a comprehension's, after a value), found from its ``for``: each
    ``for`` whose tail matches is kept when spaces and, before them, a word character or a
    closing bracket or quote stand before it ("async" ends with a word character)."""
    pos = 0
    while (m := _COMPREHENSION_TAIL.search(code, pos)) is not None:
        k = m.start()
        while k > 0 and code[k - 1] in " \t":
            k -= 1
        if k < m.start() and k > 0 and (code[k - 1].isalnum() or code[k - 1] in
                                        _COMPREHENSION_BEFORE):
            return m.start()
        pos = m.start() + 1
    return None


# -- patterns in code ------------------------------------------------------------------------------
# (name, words any of which shows it, substrings of the code that gate the finders, finders).
# Words come from one pass over the code; the finders run only when a gate is in the code (no
# gates: always), and any match shows the pattern. Finders are spelled to start with a literal
# (see :mod:`~aexy.providers.offline.scan`); a gate is kept only where it is not implied by the
# finders (it decides then: "MIDDLEWARE" matches the middleware finder, not its gate).
_PATTERN_CUES: tuple[tuple[str, frozenset[str], tuple[str, ...], tuple[Finder, ...]], ...] = (
    ("async/await", frozenset({"await"}), (),
     (re.compile(r"async(?<!\wasync)[ \t]+(?:def|function|fn)\b"),)),
    ("decorators", frozenset(), ("@",), (LineStart(r"[ \t]*@\w"),)),
    ("dependency injection", frozenset({"Depends", "Autowired", "Inject"}), (),
     (re.compile(r"inject(?<!\winject)\("),)),
    ("data classes", frozenset({"dataclass"}), (),
     (re.compile(r"\(BaseModel\)"), re.compile(r"record(?<!\wrecord)[ \t]+\w+[ \t]*\("))),
    ("context managers", frozenset({"__enter__", "__aenter__"}), (),
     (LineStart(r"[ \t]*(?:async[ \t]+)?with[ \t]"),)),
    ("generators", frozenset({"yield"}), (), (re.compile(r"function(?<!\wfunction)[ \t]*\*"),)),
    ("REST endpoints", frozenset({"GetMapping", "PostMapping", "RequestMapping"}), (),
     (re.compile(r"@(?:app|router|api|bp|blueprint)\.(?:get|post|put|patch|delete|route)\("),
      re.compile(r"app(?<!\wapp)\.(?:get|post|put|delete)\(\s*['\"`]"),
      re.compile(r"router(?<!\wrouter)\.(?:get|post|put|delete)\(\s*['\"`]"))),
    ("middleware", frozenset({"middleware", "Middleware", "MIDDLEWARE"}), ("iddleware",),
     (re.compile(r"(?i)middleware\b"),)),
    ("repository pattern", frozenset(), (),
     (re.compile(r"class(?<!\wclass)[ \t]+\w+Repository\b"),)),
    ("factory functions", frozenset(), (),
     (re.compile(r"def(?<!\wdef)[ \t]+(?:create_app|make_\w+|build_\w+)\("),
      re.compile(r"class(?<!\wclass)[ \t]+\w+Factory\b"))),
    ("token-based authentication", frozenset(), (),
     (re.compile(r"jwt(?<!\wjwt)\.(?:encode|decode)\b"), re.compile(r"sign(?<!\wsign)\("),
      re.compile(r"verify(?<!\wverify)\([^\n]*token"))),
    ("OAuth2 flow", frozenset(), ("OAuth2", "oauth2", "authorization_code", "client_credentials",
                                  "redirect_uri"),
     (re.compile(r"(?i)oauth2\w*|authorization_code|client_credentials|redirect_uri"),)),
    ("password hashing", frozenset({"bcrypt", "passlib", "pbkdf2", "argon2", "scrypt",
                                    "CryptContext", "pbkdf2_hmac"}), (), ()),
    ("caching", frozenset({"lru_cache"}), (),
     (re.compile(r"@(?:functools\.)?(?:lru_)?cache\b"),
      re.compile(r"cache(?<!\wcache)\.(?:get|set)\("))),
    ("React hooks", frozenset({"useState", "useEffect", "useMemo", "useCallback", "useContext",
                               "useReducer", "useRef"}), (), ()),
    ("comprehensions", frozenset(), (" for ",), (_comprehension,)),
    ("inheritance", frozenset({"extends"}), (),
     (LineStart(r"[ \t]*class[ \t]+\w+[ \t]*\((?!object\))\w"),)),
    ("enumerations", frozenset({"Enum", "IntEnum", "StrEnum", "enum", "IntFlag", "Flag"}), (),
     ()),
    ("custom exceptions", frozenset(), (),
     (re.compile(r"class(?<!\wclass)[ \t]+\w+(?:Error|Exception)[ \t]*"
                 r"\(\w*(?:Error|Exception)\)"),)),
)
# Python keywords that alone show a pattern (no identifier can spell them), and patterns
# written in Python's syntax only.
_PYTHON_KEYWORD_PATTERNS = {"context managers": "with", "generators": "yield"}
_PYTHON_ONLY = frozenset({"comprehensions", "context managers"})
_DOMAIN_CUES = tuple((d, stems, re.compile(p)) for d, stems, p in CODE_DOMAIN_CUES)
_WORDS = re.compile(r"[A-Za-z_$][\w$]*")

# Tests, per language, in the code (strings and comments blanked); any finder's match is a test.
_JS_TEST_CALL = r"(?:\.(?:each|only|skip)(?:\([^)]*\))?)?\s*\(\s*[\"'`]"
_TESTS: dict[str, tuple[Finder, ...]] = {
    "Python": (LineStart(r"[ \t]*(?:(?:async[ \t]+)?def[ \t]+test\w*[ \t]*\("
                         r"|class[ \t]+\w+\([^)]*TestCase[^)]*\))"),),
    "JavaScript": (re.compile(r"describe(?<![\w.$]describe)" + _JS_TEST_CALL),
                   re.compile(r"it(?<![\w.$]it)" + _JS_TEST_CALL),
                   re.compile(r"test(?<![\w.$]test)" + _JS_TEST_CALL)),
    "Go": (LineStart(r"func[ \t]+(?:Test|Benchmark|Fuzz)\w*[ \t]*\([ \t]*\w+[ \t]+\*testing\."),),
    "Rust": (re.compile(r"#\[(?:\w+::)*test\b"),),
    "Java": (re.compile(r"@(?:Test|ParameterizedTest|RepeatedTest|TestFactory)\b|"
                        r"\[(?:Test|Fact|Theory|TestMethod|TestCase)\b"),),
    "Ruby": (LineStart(r"[ \t]*(?:(?:RSpec\.)?(?:describe|context|it|specify|scenario|example)\b"
                       r"[^\n]*\bdo\b|def[ \t]+test_\w+)"),
             re.compile(r"<[ \t]*(?:Minitest::Test|Test::Unit::TestCase|ActiveSupport::TestCase)")),
    "C++": (LineStart(r"[ \t]*(?:TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|TEST_CASE|SCENARIO"
                      r"|TEMPLATE_TEST_CASE|BOOST_AUTO_TEST_CASE|BOOST_FIXTURE_TEST_CASE)"
                      r"[ \t]*\("),),
    "Shell": (LineStart(r"@test[ \t]"),),
    "PHP": (re.compile(r"extends(?<!\wextends)[ \t]+\\?(?:\w+\\)*TestCase\b"),
            re.compile(r"function[ \t]+test\w+[ \t]*\(")),
}
_TEST_LANGUAGE = {"TypeScript": "JavaScript", "Kotlin": "Java", "C#": "Java", "Scala": "Java",
                  "C": "C++", "Objective-C": "C++", "Swift": "Java"}

# Constructs that evaluate a string as code, per lexical family or language.
_EVAL: dict[str, re.Pattern[str]] = {
    # (each branch starts with its word: see aexy.providers.offline.scan)
    "python": re.compile(r"e(?:val(?<![\w.]eval)(?<!def eval)|xec(?<![\w.]exec)(?<!def exec))"
                         r"[ \t]*\("),
    "JavaScript": re.compile(r"eval(?<![\w.$]eval)\s*\(|new(?<!\wnew)\s+(?:Function|vm\.Script)"
                             r"\s*\(|Function(?<![\w.$]Function)\s*\("
                             r"|set(?<!\wset)(?:Timeout|Interval)\s*\(\s*[\"'`]|vm(?<!\wvm)\.run\w*\("),
    "shell": re.compile(r"(?:^|[;&|({`]|\$\(|\bthen\b|\bdo\b|\belse\b)[ \t]*eval\b",
                        re.MULTILINE),
    "ruby": re.compile(r"(?<![\w.:])eval[ \t]*[(\"'<%]|(?<![\w.:])eval[ \t]+\w|"
                       r"\b(?:instance|class|module)_eval[ \t]*\(?[ \t]*(?:[\"'<]|%[qQ])|"
                       r"\bbinding\.eval\b"),
    "hash_c": re.compile(r"(?<![\w>$])eval\s*\(|\bcreate_function\s*\("),
    "sql": re.compile(r"(?i)\bexec(?:ute)?\s+(?:immediate\b|format\s*\(|'|\(\s*@|"
                      r"sp_executesql\b)|\bsp_executesql\b"),
    "lua": re.compile(r"(?<![\w.:])(?:loadstring|load|dostring)\s*\("),
    "Java": re.compile(r"\bScriptEngine\w*\b[\s\S]*?\.eval\s*\("),
}

# Credentials: a name that says it holds one, given a literal that looks like one.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|passphrase|secret|secret_?key|api_?key|apikey|"
    r"access_?key(?:_?id)?|secret_?access_?key|auth_?token|access_?token|refresh_?token|"
    r"token|private_?key|client_?secret|credentials?|signing_?key|encryption_?key|"
    r"session_?key|bearer)$")
_PLACEHOLDER = re.compile(r"(?i)^(?:\$\{?\w+\}?|<[^>]*>|\{\{.*\}\}|%\(?\w*\)?s|\*+|x+|\.+|"
                          r"your[\w-]*|changeme|example|test|dummy|fake|secret|password|"
                          r"none|null|undefined|true|false)$")
# Known token formats; each branch starts with its first character (see
# aexy.providers.offline.scan), so one scan of the text finds them all.
_TOKEN_FORMATS = re.compile(
    r"A(?<!\wA)(?:KIA[0-9A-Z]{16}|SIA[0-9A-Z]{16}|Iza[0-9A-Za-z_-]{35})\b"
    r"|g(?<!\wg)h[pousr]_[A-Za-z0-9]{36}\b|x(?<!\wx)ox[baprs]-[A-Za-z0-9-]{10,}\b"
    r"|s(?<!\ws)k_live_[A-Za-z0-9]{16,}\b|-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY")


def _looks_like_credential(value: str) -> bool:
    if len(value) < 8 or any(c.isspace() for c in value) or _PLACEHOLDER.match(value):
        return False
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", value) or re.fullmatch(r"[a-z][a-z_.-]*", value):
        return False  # an environment variable's name, a word
    if value.startswith(("http://", "https://", "/", "./", "$", "{", "%", "<")):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^\w]"))
    return classes >= 2


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").lower()


_KEY_NAME = re.compile(r"[A-Za-z_$][\w$.-]*$")



def _secrets(src: Source) -> list[int]:
    """Lines holding a credential literal: a string that looks like a credential assigned to a
    name (or key) that says it is one, or a known token format inside a string."""
    if not src.strings:
        return []
    lines: list[int] = []
    code, text = src.code, src.text
    for start, end in src.strings:
        if not 8 <= end - start <= 500:
            continue
        before = code[max(0, start - 121):start - 1].rstrip()  # up to the opening quote
        if not before.endswith((":", "=", ">")):
            continue
        before = before.rstrip(":=>?").rstrip()
        if before[-1:] in ("\"", "'", "`"):  # a quoted key: read it back
            opening = code.rfind(before[-1], 0, len(before) - 1 + max(0, start - 121))
            key = text[opening + 1:max(0, start - 121) + len(before) - 1]
        else:
            m = _KEY_NAME.search(before)
            if m is None:
                continue
            key = m.group(0)
        if _SECRET_NAME.search(_snake(key.rsplit(".", 1)[-1])) and _looks_like_credential(
                text[start:end]):
            lines.append(src.line_of(start))
    starts: list[int] | None = None
    for m in _TOKEN_FORMATS.finditer(text):
        if starts is None:
            starts = [s for s, _ in src.strings]
        i = bisect_right(starts, m.start()) - 1
        if i >= 0 and src.strings[i][0] <= m.start() < src.strings[i][1]:
            lines.append(src.line_of(m.start()))
    return sorted(set(lines))


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
    line: int  # where it shows


# The start of a SQL statement (matched from a string body's start, up to its end).
_SQL_BUILT = re.compile(
    r"(?i)\s*(?:select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from)\b")
_SQL_FORMAT_AFTER = re.compile(r"^[\"'`]\s*(?:%|\+|\.format\(|\|\|)")
_SQL_FORMAT_CALL = re.compile(r"(?:\bf|\bSprintf\(|\bformat!\(|\bString\.format\(|\$)$")

_ISSUE_CUES: tuple[tuple[str, str, str, tuple[str, ...], tuple[Finder, ...], str, str], ...] = (
    # severity, category, aspect, gates (text one of which the code holds; none: always),
    # finders over the code (the first match is the issue's line), description, suggestion.
    # A gate implied by the finders is left out; one that is not decides (a case-insensitive
    # finder, "except\t:").
    ("high", "security", "tls", (),
     (re.compile(r"verify(?<!\wverify)\s*=\s*False"),
      re.compile(r"rejectUnauthorized\s*:\s*false"), re.compile(r"InsecureSkipVerify\s*:\s*true")),
     "TLS certificate verification is disabled",
     "Keep TLS verification on; trust a private CA explicitly if needed."),
    ("moderate", "security", "hashing", ("md5", "sha1", "MD5", "SHA1"),
     (re.compile(r"(?i)\b(md5|sha1)\s*\("),),
     "MD5/SHA-1 are not suitable for passwords or signatures",
     "Use a password hash (bcrypt, argon2) or SHA-256 and above for signatures."),
    ("moderate", "security", "randomness", ("random.",),
     (re.compile(r"(?i)\brandom\.(random|randint|choice)\(.*(token|secret|password)|"
                 r"(token|secret|password).*\brandom\.(random|randint|choice)\("),),
     "the random module is not cryptographically secure",
     "Generate tokens and secrets with the secrets module."),
    ("moderate", "bug", "error handling", ("except:", "except :", "catch"),
     (LineStart(r"[ \t]*except[ \t]*:[ \t]*$"),
      re.compile(r"catch(?<!\wcatch)[ \t]*\([ \t]*\w*[ \t]*\)[ \t]*\{\s*\}")),
     "a bare except or empty catch swallows every error, including bugs",
     "Catch the specific exceptions you expect and let the rest propagate."),
    ("moderate", "bug", "error handling", ("pass",),
     (LineStart(r"[ \t]*except[ \t]+(?:Base)?Exception\b[^\n]*:[ \t]*\n[ \t]*pass\b"),),
     "exceptions are caught and silently ignored",
     "Log or handle caught exceptions instead of passing silently."),
    ("low", "maintainability", "logging", ("print(", "console.log("),
     (LineStart(r"[ \t]*print\("), re.compile(r"console(?<!\wconsole)\.log\(")),
     "print/console.log is used where structured logging would be easier to control",
     "Use the logging framework instead of print/console.log."),
)
#: The longest line that is not flagged.
_LINE_LIMIT = 120
_TODO = re.compile(r"T(?<!\wT)ODO\b|F(?<!\wF)IXME\b|X(?<!\wX)XX\b|H(?<!\wH)ACK\b")
_SEVERITY_RANK = {"critical": 0, "high": 1, "moderate": 2, "low": 3}
_SEVERITY_COST = {"critical": 3.0, "high": 2.0, "moderate": 1.0, "low": 0.25}


@dataclass(slots=True)
class CodeFacts:
    """What the heuristics found in one piece of code."""

    language: str
    file_path: str | None
    loc: int
    imports: list[Import]
    frameworks: list[str]
    domains: list[str]
    patterns: list[str]
    strengths: list[_Strength]
    issues: list[Finding]
    functions: list[Function]
    decisions: int
    max_depth: int
    parsed: bool
    source: Source
    is_test: bool
    evaluates: list[int]  # lines that evaluate a string as code
    secrets: list[int]  # lines holding a credential literal
    reading: str  # "parsed" | "lexed" | "guessed" | "unknown": how the code was read

    @property
    def libraries(self) -> list[Import]:
        """External imports, one per library, in order of appearance."""
        seen: set[str] = set()
        out = []
        for imp in self.imports:
            if imp.external and imp.library not in seen:
                seen.add(imp.library)
                out.append(imp)
        return out

    @property
    def confidence(self) -> float:
        return CONFIDENCE[self.reading]

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
                 language_hint: str | None = None, repository: str | None = None) -> CodeFacts:
    """Run every heuristic over ``code``. Pure and deterministic. ``language_hint`` is used
    only when neither the path nor the code tells the language; ``repository`` (a name) tells
    the project's own modules from libraries."""
    language = detect_language(code, file_path)
    reading = "lexed" if file_path and language != "unknown" and EXTENSIONS.get(
        PurePosixPath(file_path).suffix.lower()) else "guessed"
    if language == "unknown":
        if language_hint and language_hint.strip():
            language, reading = language_hint.strip(), "guessed"
        else:
            reading = "unknown"
    src = lex(code, language)
    tree: ast.Module | None = None
    structure: Structure | None = None
    if language == "Python":
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):  # a fragment, or another Python: read it as text
            tree = None
        if tree is not None:
            structure = python_structure(tree, src)
            reading = "parsed" if reading != "unknown" else reading
    if structure is None:
        structure = code_structure(src)
    loc = src.nonblank_lines(1, src.code.count("\n") + 1)
    words = frozenset(_WORDS.findall(src.code))

    imports = _imports(src, file_path, structure.imports if structure.parsed else None,
                       repository)
    frameworks: list[str] = []
    domains: list[str] = []
    for imp in imports:
        lib = _library_for(imp.module) if imp.external else None
        if lib is None and imp.external:
            lib = _library_for(imp.library)
        if lib is None:
            continue
        if lib[0] not in frameworks:
            frameworks.append(lib[0])
        domains += [d for d in lib[1] if d not in domains]
    names = "\n".join(words).lower()  # each identifier once
    for domain, stems, pattern in _DOMAIN_CUES:
        if domain in domains or not any(st in names for st in stems):
            continue
        hits = pattern.findall(names) if domain != "databases" else pattern.findall(
            src.code.lower())
        if len(hits) >= 2:
            domains.append(domain)
    python = language == "Python"
    patterns = [name for name, shown_by, gates, finders in _PATTERN_CUES
                if shown_by & words or (python and name in _PYTHON_KEYWORD_PATTERNS
                                        and _PYTHON_KEYWORD_PATTERNS[name] in words)
                or (finders and (python or name not in _PYTHON_ONLY) and (
                    not gates or any(g in src.code for g in gates))
                    and first(src.code, finders) is not None)]

    is_test = _test_line(src, structure) is not None
    if is_test and "testing" not in domains:
        domains.append("testing")
    evaluates = _evaluations(src, words)
    secrets = _secrets(src)
    issues = _findings(src, structure, is_test, words, evaluates, secrets)
    strengths = _strengths(src, structure, is_test, issues, words)
    issues.sort(key=lambda i: (_SEVERITY_RANK[i.severity], i.line))  # most severe first
    return CodeFacts(
        language=language, file_path=file_path, loc=loc, imports=imports, frameworks=frameworks,
        domains=domains, patterns=patterns, strengths=strengths, issues=issues[:MAX_ISSUES],
        functions=structure.functions, decisions=structure.decisions,
        max_depth=structure.max_depth, parsed=structure.parsed, source=src, is_test=is_test,
        evaluates=evaluates, secrets=secrets, reading=reading,
    )


def _test_line(src: Source, structure: Structure) -> int | None:
    """The line of the first test the code defines, or ``None``."""
    if structure.parsed:
        test = next((f for f in structure.functions
                     if f.name.rsplit(".", 1)[-1].startswith("test")), None)
        if test is not None:
            return test.line
        if "TestCase" not in src.code:
            return None
    finders = _TESTS.get(_TEST_LANGUAGE.get(src.language, src.language))
    at = first(src.code, finders) if finders else None
    return src.line_of(at) if at is not None else None


def _evaluations(src: Source, words: frozenset[str]) -> list[int]:
    family = family_of(src.language)
    pattern: re.Pattern[str] | None
    if src.language in ("JavaScript", "TypeScript", "Vue", "Svelte"):
        pattern = _EVAL["JavaScript"]
    elif src.language in ("Java", "Kotlin"):
        pattern = _EVAL["Java"]
    else:
        pattern = _EVAL.get(family)
    if pattern is None or not words & {"eval", "exec", "Function", "setTimeout", "setInterval",
                                       "vm", "instance_eval", "class_eval", "module_eval",
                                       "create_function", "EXECUTE", "execute", "EXEC",
                                       "sp_executesql", "loadstring", "load",
                                       "dostring", "Execute"}:
        return []
    return sorted({src.line_of(m.start() + len(m.group(0)) - len(m.group(0).lstrip()))
                   for m in pattern.finditer(src.code)})


def _documentable(structure: Structure) -> tuple[int, int]:
    """(documented, total) over public functions and classes, or over all when none is
    public; functions of languages whose doc comments are not read do not count."""
    units = [(f.public, bool(f.documented)) for f in structure.functions
             if f.documented is not None]
    units += [(not name.rsplit(".", 1)[-1].startswith("_"), doc)
              for name, doc in structure.classes]
    public = [u for u in units if u[0]] or units
    return sum(1 for u in public if u[1]), len(public)


def _sql_built(src: Source) -> int | None:
    """The line of the first SQL statement built by string formatting or concatenation."""
    code, text = src.code, src.text
    for start, end in src.strings:
        if not _SQL_BUILT.match(text, start, end):
            continue
        before = code[max(0, start - 12):start - 1]
        after = code[end:end + 16]
        body = text[start:end]
        formatted = (_SQL_FORMAT_CALL.search(before) and (
            "{" in body or "%" in body)) or _SQL_FORMAT_AFTER.match(after)
        if formatted or re.search(r"\+\s*$", code[max(0, start - 8):start - 1]):
            return src.line_of(start)
    return None


def _todo(src: Source) -> int | None:
    """Where the first TODO, FIXME, XXX or HACK within a comment is. One scan of the text;
    each word found is kept when a comment holds it (no comment ends in a word character, so
    the word boundary after it reads the same in the comment as in the text)."""
    if not src.comments or not any(w in src.text for w in ("TODO", "FIXME", "XXX", "HACK")):
        return None
    starts: list[int] | None = None
    for m in _TODO.finditer(src.text):
        if starts is None:
            starts = [a for a, _ in src.comments]
        i = bisect_right(starts, m.start()) - 1
        if i >= 0 and m.end() <= src.comments[i][1]:
            return m.start()
    return None


def _findings(src: Source, structure: Structure, is_test: bool, words: frozenset[str],
              evaluates: list[int], secrets: list[int]) -> list[Finding]:
    issues: list[Finding] = []
    code = src.code
    if secrets:
        issues.append(Finding(
            "high", "security", "a credential appears to be hard-coded in the source",
            secrets[0], "Read credentials from the environment or a secret store, never from "
            "the source.", "secrets"))
    if evaluates:
        issues.append(Finding(
            "high", "security", "dynamic code execution (eval/exec) can run untrusted input "
            "as code", evaluates[0], "Replace eval/exec with explicit parsing or a lookup "
            "table.", "code execution"))
    sql = _sql_built(src)
    if sql is not None:
        issues.append(Finding(
            "high", "security", "SQL is built by string formatting, which is open to injection",
            sql, "Pass values to SQL as bound parameters instead of formatting them into the "
            "query.", "sql"))
    for severity, category, aspect, gates, finders, description, suggestion in _ISSUE_CUES:
        if gates and not any(g in code for g in gates):
            continue
        at = first(code, finders)
        if at is not None:
            issues.append(Finding(severity, category, description, src.line_of(at),
                                  suggestion, aspect))
    todo = _todo(src)  # unfinished work is only ever marked in comments
    if todo is not None:
        issues.append(Finding(
            "low", "maintainability", "unfinished work is marked in the code (TODO/FIXME)",
            src.line_of(todo), "Finish or track the TODO/FIXME items in the issue tracker.",
            "unfinished work"))
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
    lengths = src.line_lengths()
    if max(lengths) > _LINE_LIMIT:
        long_lines = sum(map(_LINE_LIMIT.__lt__, lengths))
        issues.append(Finding(
            "low", "style", f"{plural(long_lines, 'line')} longer than 120 characters",
            next(i for i, n in enumerate(lengths, 1) if n > _LINE_LIMIT),
            "Wrap long lines (a formatter such as ruff or prettier does it).", "style"))
    if src.language == "Python" and not is_test:
        documented, total = _documentable(structure)
        first_line = structure.functions[0].line if structure.functions else 1
        if total and documented == 0:
            issues.append(Finding(
                "low", "documentation", f"none of the {plural(total, 'public function')} and "
                "classes has a docstring" if total > 1 else "the public function or class "
                "has no docstring", first_line, "Add docstrings to public functions and classes.",
                "documentation"))
        elif total and documented / total < 0.5:
            issues.append(Finding(
                "low", "documentation",
                f"only {documented} of {total} public functions and classes have a docstring",
                first_line, "Add docstrings to public functions and classes.", "documentation"))
    typed_funcs = [f for f in structure.functions if f.typed is not None]
    if typed_funcs:
        typed = sum(1 for f in typed_funcs if f.typed)
        if typed / len(typed_funcs) < 0.5:
            issues.append(Finding(
                "low", "maintainability",
                f"type hints on only {typed} of {plural(len(typed_funcs), 'function')}",
                typed_funcs[0].line, "Add type hints and check them with mypy.", "types"))
    return issues


_HANDLES: tuple[Finder, ...] = (
    LineStart(r"[ \t]*except[ \t]+\(?[A-Z]"), re.compile(r"catch(?<!\wcatch)\s*\(\s*\w"),
    re.compile(r"raise(?<!\wraise) \w+Error\("), re.compile(r"throw(?<!\wthrow) new \w"),
    re.compile(r"rescue(?<!\wrescue)\s+[A-Z]"))
_HANDLE_WORDS = frozenset({"except", "catch", "raise", "throw", "rescue"})


def _log_macro(code: str) -> int | None:
    """Rust's ``info!(`` and its kin, looked for only where ``!(`` is."""
    m = _LOG_MACRO.search(code) if "!(" in code else None
    return None if m is None else m.start()


_LOG_MACRO = re.compile(r"i(?<!\wi)nfo!\(|w(?<!\ww)arn!\(|e(?<!\we)rror!\(|d(?<!\wd)ebug!\(")
_LOGS: tuple[Finder, ...] = (
    re.compile(r"log(?<!\wlog)(?:ging\.\w+\(|ger\.\w+\(|\.(?:info|warn|warning|error|debug)\("
               r"|rus\.\w+\()"),
    re.compile(r"tracing(?<!\wtracing)::\w+!"), _log_macro)
_ENV: tuple[Finder, ...] = (
    re.compile(r"os(?<!\wos)\.(?:environ|Getenv\()"), re.compile(r"getenv(?<!\wgetenv)\("),
    re.compile(r"process(?<!\wprocess)\.env\."),
    re.compile(r"BaseSettings(?<!\wBaseSettings)\b"), re.compile(r"ENV(?<!\wENV)\["),
    re.compile(r"env(?<!\wenv)::var\("))
_CONSTANT = LineStart(r"(?:(?:pub\s+)?(?:const|static)\s+)?[A-Z][A-Z0-9_]{2,}\s*"
                      r"(?::\s*[\w\[\], &']+)?=")


def _strengths(src: Source, structure: Structure, is_test: bool,
               issues: list[Finding], words: frozenset[str]) -> list[_Strength]:
    found: list[_Strength] = []
    code = src.code
    funcs = structure.functions
    typed_funcs = [f for f in funcs if f.typed is not None]
    if typed_funcs:
        typed = [f for f in typed_funcs if f.typed]
        if len(typed) / len(typed_funcs) >= 0.5:
            found.append(_Strength("type hints", f"type hints on {len(typed)} of "
                                   f"{plural(len(typed_funcs), 'function')}", "types", True,
                                   typed[0].line))
    elif src.language == "TypeScript" and funcs:
        found.append(_Strength("static types (TypeScript)", "static types (TypeScript)",
                               "types", True, funcs[0].line))
    documented, total = _documentable(structure)
    if total and documented / total >= 0.5:
        # The docstring (or doc comment) itself is the evidence, not the definition it documents.
        first_line = next((f.doc_line or f.line for f in funcs if f.documented),
                          funcs[0].line if funcs else 1)
        found.append(_Strength("docstrings", f"docstrings on {documented} of {total} public "
                               "functions and classes" if src.language == "Python" else
                               f"doc comments on {documented} of {total} functions",
                               # A comment never raises the score: only Python's docstrings,
                               # which its parser reads, count towards it.
                               "documentation", src.language == "Python", first_line))
    if is_test:
        found.append(_Strength("tests", "contains tests", "tests", True,
                               _test_line(src, structure) or 1))
    handles = first(code, _HANDLES) if words & _HANDLE_WORDS else None
    if handles is not None:
        found.append(_Strength("explicit error handling", "catches and raises specific errors",
                               "error handling", True, src.line_of(handles)))
    logs = first(code, _LOGS)
    if logs is not None:
        found.append(_Strength("logging", "uses a logging framework", "logging", False,
                               src.line_of(logs)))
    env = first(code, _ENV)
    if env is not None:
        found.append(_Strength("configuration from the environment",
                               "reads configuration from the environment", "secrets", False,
                               src.line_of(env)))
    if funcs:
        mid = median(f.lines for f in funcs)
        if mid <= SHORT_FUNCTION_LINES:
            found.append(_Strength("small functions", f"short functions (median "
                                   f"{plural(mid, 'line')})", "function size", True,
                                   funcs[0].line))
    constant = _CONSTANT.search(code)
    if constant is not None:
        found.append(_Strength("named constants", "names its constants", "constants", False,
                               src.line_of(constant)))
    # A strength is only claimed when no issue speaks against the same aspect.
    against = {i.aspect for i in issues}
    return [s for s in found if s.aspect not in against]


# -- results ---------------------------------------------------------------------------------------

def _facts(request: AnalysisRequest) -> CodeFacts:
    ctx = request.context
    path = ctx.get("file_path") if isinstance(ctx.get("file_path"), str) else None
    hint = ctx.get("language") if isinstance(ctx.get("language"), str) else None
    repository = ctx.get("repository") if isinstance(ctx.get("repository"), str) else None
    return analyze_code(request.content, path, hint, repository)


def _quote(facts: CodeFacts, line: int) -> str | None:
    """A line of the content as evidence: its text, shortened to at most 120 characters;
    ``None`` (the line number alone) where the line says too little to quote (``{``, a
    docstring's opening quotes alone): what grounding would not accept as a quote."""
    text = facts.source.line_text(line)
    if len(text.strip(" \"'`")) < 3:
        return None
    return text if len(text) <= 120 else text[:117].rstrip()


def _code_quote(facts: CodeFacts, imp: Import) -> str:
    """An import's line as evidence, without a comment that ends it."""
    src = facts.source
    text = _quote(facts, imp.line) or imp.module
    for a, _ in src.comments:
        if src.line_of(a) == imp.line:
            start = src.text.rfind("\n", 0, a) + 1
            kept = src.text[start:a].strip()
            return kept if len(kept) >= 3 else imp.module
    return text


def skill_extraction(request: AnalysisRequest) -> SkillExtraction:
    facts = _facts(request)
    return SkillExtraction(
        language=facts.language,
        libraries=[LibraryUse(name=i.library, evidence=_code_quote(facts, i))
                   for i in facts.libraries],
        frameworks=facts.frameworks, patterns=facts.patterns,
        complexity=facts.complexity,
        quality_indicators=[QualityIndicator(name=s.label, line=s.line,
                                             evidence=_quote(facts, s.line))
                            for s in facts.strengths],
        domains=facts.domains, confidence=facts.confidence,
    )


def code_quality(request: AnalysisRequest) -> CodeQuality:
    facts = _facts(request)
    suggestions = list(dict.fromkeys(i.suggestion for i in facts.issues))
    return CodeQuality(
        score=facts.score,
        strengths=[Strength(description=s.text, line=s.line, evidence=_quote(facts, s.line))
                   for s in facts.strengths],
        issues=[CodeIssue(severity=Level(i.severity), category=IssueCategory(i.category),
                          description=i.description, line=i.line,
                          evidence=_quote(facts, i.line)) for i in facts.issues],
        suggestions=suggestions, summary=facts.summary("code_quality"),
        confidence=facts.confidence,
    )


def code_complexity(request: AnalysisRequest) -> CodeComplexity:
    facts = _facts(request)
    hot = sorted((f for f in facts.functions if f.decisions),
                 key=lambda f: (-f.decisions, -f.depth, f.line))
    return CodeComplexity(
        complexity=facts.complexity, cognitive_load=Level(facts.level),
        hotspots=[Hotspot(name=f.name,
                          reason=f"{plural(f.decisions, 'branch point')}, block nesting "
                                 f"{f.depth}, {plural(f.lines, 'line')} (line {f.line})")
                  for f in hot[:3]],
        summary=facts.summary("code_complexity"), confidence=facts.confidence,
    )
