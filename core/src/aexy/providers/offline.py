"""The ``offline`` provider: deterministic static heuristics, no network, no key, no model.

It lets ``aexy analyze skill_extraction app.py`` work on a fresh machine. For the code types
(``skill_extraction``, ``code_quality``, ``code_complexity``) it reads the code between the
prompt's ``<content>`` tags and measures what a linter could: language, imports, branching and
nesting, type hints, docstrings, tests, risky calls. For every other type it answers with the
smallest schema-valid value and a summary that says plainly that no model was consulted.

Answers are built by walking the request's JSON schema and asking, per property *name*, whether a
heuristic knows a value (``language``, ``frameworks``, ``issues``, ``summary`` ...). Anything it
does not know gets the schema's minimal example. So the provider follows the result models as they
change instead of hard-coding them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, ClassVar

from pydantic_settings import SettingsConfigDict

from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import ErrorCode, LLMError
from aexy.providers.base import BaseLLMProvider, ProviderSettings, RateLimits
from aexy.schema import example_from_schema, resolve_ref

__all__ = ["MODEL_NAME", "OfflineProvider", "OfflineSettings", "analyze_code"]

MODEL_NAME = "heuristic-v1"
CODE_TYPES = frozenset({"skill_extraction", "code_quality", "code_complexity"})

OFFLINE_NOTE = (
    "Offline heuristic from aexy's built-in 'offline' provider: no model was consulted"
)
PLACEHOLDER_SUMMARY = (
    OFFLINE_NOTE + ", so this is a schema-valid placeholder, not an analysis. "
    "Set LLM_PROVIDER to a model provider (ollama, claude, openai) for a real answer."
)


class OfflineSettings(ProviderSettings):
    """``AEXY_OFFLINE_*`` variables; a prefix, so that no bare ``MODEL`` or ``TIMEOUT`` variable
    of some other program is read."""

    model_config = SettingsConfigDict(env_prefix="AEXY_OFFLINE_")

    model: str = MODEL_NAME


class OfflineProvider(BaseLLMProvider):
    """Static heuristics behind the provider interface. See ``docs/providers/offline.md``."""

    name: ClassVar[str] = "offline"
    settings_class: ClassVar[type[ProviderSettings]] = OfflineSettings
    default_limits: ClassVar[RateLimits] = RateLimits()
    enforces_schema: ClassVar[bool] = True  # answers are built from the schema itself

    async def complete(self, request: CompletionRequest) -> Completion:
        model = request.model or self.model
        if model != MODEL_NAME:
            raise LLMError(
                f"the offline provider has one model, {MODEL_NAME!r}; got {model!r} "
                "(drop --model, or unset AEXY_OFFLINE_MODEL)",
                code=ErrorCode.NOT_FOUND, provider=self.name, model=model, retryable=False,
            )
        text = json.dumps(answer(request), ensure_ascii=False)
        return Completion(
            text=text,
            model=MODEL_NAME,
            usage=Usage(input_tokens=max(1, request.prompt_chars // 4),
                        output_tokens=max(1, len(text) // 4)),
            finish_reason=FinishReason.STOP,
            raw_finish_reason="stop",
        )

    def describe(self) -> Mapping[str, Any]:
        return {**super().describe(), "network": False, "kind": "static heuristics, no model"}


# -- reading the request ---------------------------------------------------------------------------

_CONTENT = re.compile(r"<content>\n?(.*)\n?</content>", re.DOTALL)
_CONTEXT = re.compile(r"<context>\n?(.*?)\n?</context>", re.DOTALL)
_BACKTICK_PATH = re.compile(r"`([^`\s]+\.[A-Za-z0-9]{1,10})`")
_BARE_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.[A-Za-z][A-Za-z0-9]{0,9})\b")


@dataclass(frozen=True, slots=True)
class _Input:
    content: str
    context: Mapping[str, Any]
    file_path: str | None


def read_request(request: CompletionRequest) -> _Input:
    """The content, context and file path the prompt carries (the first user turn)."""
    user = next((m.content for m in request.messages if m.role == "user"), "")
    match = _CONTENT.search(user)
    if match:
        content = match.group(1).replace("<\\/content>", "</content>")
        around = user[: match.start()] + user[match.end():]
    else:
        content, around = user, ""
    context: dict[str, Any] = {}
    cmatch = _CONTEXT.search(around)
    if cmatch:
        try:
            parsed = json.loads(cmatch.group(1).replace("<\\/context>", "</context>"))
            if isinstance(parsed, dict):
                context = parsed
        except ValueError:
            pass
    file_path = context.get("file_path") if isinstance(context.get("file_path"), str) else None
    if file_path is None and around:
        found = _BACKTICK_PATH.search(around) or _BARE_PATH.search(around)
        if found and PurePosixPath(found.group(1)).suffix.lower() in _EXTENSIONS:
            file_path = found.group(1)
    return _Input(content, context, file_path)


# -- language --------------------------------------------------------------------------------------

_EXTENSIONS: dict[str, str] = {
    ".py": "Python", ".pyi": "Python", ".js": "JavaScript", ".mjs": "JavaScript",
    ".cjs": "JavaScript", ".jsx": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript",
    ".go": "Go", ".rs": "Rust", ".java": "Java", ".kt": "Kotlin", ".kts": "Kotlin",
    ".scala": "Scala", ".rb": "Ruby", ".php": "PHP", ".cs": "C#", ".c": "C", ".h": "C",
    ".cpp": "C++", ".cc": "C++", ".cxx": "C++", ".hpp": "C++", ".swift": "Swift",
    ".m": "Objective-C", ".sql": "SQL", ".sh": "Shell", ".bash": "Shell", ".zsh": "Shell",
    ".ps1": "PowerShell", ".r": "R", ".lua": "Lua", ".dart": "Dart", ".ex": "Elixir",
    ".exs": "Elixir", ".erl": "Erlang", ".hs": "Haskell", ".clj": "Clojure", ".vue": "Vue",
    ".svelte": "Svelte", ".html": "HTML", ".css": "CSS", ".scss": "SCSS", ".tf": "HCL",
    ".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".toml": "TOML", ".md": "Markdown",
}

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
    if file_path:
        lang = _EXTENSIONS.get(PurePosixPath(file_path).suffix.lower())
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

# import root -> (display name, domains). Roots are matched on the first path component
# (Python ``a.b``, JS ``a/b`` or ``@scope/a``, Go and Java full prefixes).
_LIBRARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    # Python
    "fastapi": ("FastAPI", ("web APIs",)),
    "starlette": ("Starlette", ("web APIs",)),
    "django": ("Django", ("web development",)),
    "rest_framework": ("Django REST framework", ("web APIs",)),
    "flask": ("Flask", ("web development",)),
    "aiohttp": ("aiohttp", ("web development",)),
    "tornado": ("Tornado", ("web development",)),
    "sqlalchemy": ("SQLAlchemy", ("databases",)),
    "alembic": ("Alembic", ("databases",)),
    "psycopg2": ("psycopg2", ("databases",)),
    "psycopg": ("psycopg", ("databases",)),
    "asyncpg": ("asyncpg", ("databases",)),
    "pymongo": ("PyMongo", ("databases",)),
    "motor": ("Motor", ("databases",)),
    "redis": ("Redis", ("caching",)),
    "pydantic": ("Pydantic", ("data validation",)),
    "marshmallow": ("marshmallow", ("data validation",)),
    "requests": ("Requests", ("HTTP clients",)),
    "httpx": ("HTTPX", ("HTTP clients",)),
    "jwt": ("PyJWT", ("authentication",)),
    "jose": ("python-jose", ("authentication",)),
    "authlib": ("Authlib", ("authentication",)),
    "oauthlib": ("OAuthLib", ("authentication",)),
    "requests_oauthlib": ("requests-oauthlib", ("authentication",)),
    "passlib": ("Passlib", ("authentication", "security")),
    "bcrypt": ("bcrypt", ("security",)),
    "cryptography": ("cryptography", ("security",)),
    "celery": ("Celery", ("background jobs",)),
    "kafka": ("Kafka", ("messaging",)),
    "aiokafka": ("Kafka", ("messaging",)),
    "pika": ("RabbitMQ", ("messaging",)),
    "boto3": ("boto3", ("cloud infrastructure",)),
    "pandas": ("pandas", ("data analysis",)),
    "numpy": ("NumPy", ("scientific computing",)),
    "scipy": ("SciPy", ("scientific computing",)),
    "sklearn": ("scikit-learn", ("machine learning",)),
    "torch": ("PyTorch", ("machine learning",)),
    "tensorflow": ("TensorFlow", ("machine learning",)),
    "transformers": ("Hugging Face Transformers", ("machine learning",)),
    "matplotlib": ("Matplotlib", ("data visualisation",)),
    "pytest": ("pytest", ("testing",)),
    "unittest": ("unittest", ("testing",)),
    "hypothesis": ("Hypothesis", ("testing",)),
    "click": ("Click", ("command-line tools",)),
    "typer": ("Typer", ("command-line tools",)),
    "argparse": ("argparse", ("command-line tools",)),
    "asyncio": ("asyncio", ("concurrency",)),
    "stripe": ("Stripe", ("payments",)),
    "graphene": ("Graphene", ("GraphQL",)),
    "strawberry": ("Strawberry", ("GraphQL",)),
    "grpc": ("gRPC", ("RPC",)),
    "scrapy": ("Scrapy", ("web scraping",)),
    "bs4": ("Beautiful Soup", ("web scraping",)),
    # JavaScript / TypeScript
    "react": ("React", ("frontend",)),
    "react-dom": ("React", ("frontend",)),
    "next": ("Next.js", ("frontend", "web development")),
    "vue": ("Vue", ("frontend",)),
    "@angular": ("Angular", ("frontend",)),
    "svelte": ("Svelte", ("frontend",)),
    "redux": ("Redux", ("frontend",)),
    "@reduxjs": ("Redux", ("frontend",)),
    "express": ("Express", ("web APIs",)),
    "koa": ("Koa", ("web APIs",)),
    "@nestjs": ("NestJS", ("web APIs",)),
    "axios": ("Axios", ("HTTP clients",)),
    "jsonwebtoken": ("jsonwebtoken", ("authentication",)),
    "passport": ("Passport", ("authentication",)),
    "next-auth": ("NextAuth.js", ("authentication",)),
    "bcryptjs": ("bcrypt", ("security",)),
    "mongoose": ("Mongoose", ("databases",)),
    "@prisma": ("Prisma", ("databases",)),
    "prisma": ("Prisma", ("databases",)),
    "typeorm": ("TypeORM", ("databases",)),
    "sequelize": ("Sequelize", ("databases",)),
    "pg": ("node-postgres", ("databases",)),
    "graphql": ("GraphQL", ("GraphQL",)),
    "@apollo": ("Apollo", ("GraphQL",)),
    "socket.io": ("Socket.IO", ("real-time communication",)),
    "jest": ("Jest", ("testing",)),
    "vitest": ("Vitest", ("testing",)),
    "@testing-library": ("Testing Library", ("testing",)),
    # Go, Java, Rust
    "github.com/gin-gonic/gin": ("Gin", ("web APIs",)),
    "github.com/labstack/echo": ("Echo", ("web APIs",)),
    "github.com/gorilla/mux": ("Gorilla Mux", ("web APIs",)),
    "gorm.io/gorm": ("GORM", ("databases",)),
    "github.com/golang-jwt/jwt": ("golang-jwt", ("authentication",)),
    "golang.org/x/oauth2": ("x/oauth2", ("authentication",)),
    "org.springframework": ("Spring", ("web development",)),
    "javax.persistence": ("JPA", ("databases",)),
    "jakarta.persistence": ("JPA", ("databases",)),
    "org.hibernate": ("Hibernate", ("databases",)),
    "org.junit": ("JUnit", ("testing",)),
    "actix_web": ("Actix Web", ("web APIs",)),
    "axum": ("Axum", ("web APIs",)),
    "tokio": ("Tokio", ("concurrency",)),
    "serde": ("Serde", ("serialization",)),
    "diesel": ("Diesel", ("databases",)),
    "sqlx": ("SQLx", ("databases",)),
}

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

# Keywords in code (identifiers, strings) that indicate a domain even without an import.
_DOMAIN_CUES: tuple[tuple[str, str], ...] = (
    ("authentication", r"(?i)\boauth2?\b|\bjwt\b|access_token|refresh_token|\blogin\b|"
                       r"\bauthenticat\w*|password|bearer"),
    ("authorization", r"(?i)\bscopes?\b|\bpermission\w*|\bauthori[sz]\w*|\brbac\b|\brole"),
    ("security", r"(?i)\bhash\w*\b|\bcsrf\b|\bencrypt\w*|\bsecret\w*\b|\bhmac\b"),
    ("databases", r"(?i)\bselect\s+.+\s+from\b|\binsert into\b|\bsession\.commit\(|\.query\("),
    ("web APIs", r"@(app|router|api)\.(get|post|put|patch|delete)\(|\bHTTPException\b"),
    ("payments", r"(?i)\bpayment\w*|\binvoice\w*|\bcheckout\b|\bstripe\b"),
    ("testing", r"^\s*def test_\w+|\bdescribe\(|\bit\(['\"]|\bassert\w*\b"),
)


def imports_of(code: str) -> list[str]:
    found: list[str] = []
    for pattern in _IMPORT_PATTERNS:
        for match in pattern.finditer(code):
            for part in match.group(1).split(","):
                name = part.strip().split(" as ")[0].strip()
                if name and name not in found:
                    found.append(name)
    return found


def _library_for(module: str) -> tuple[str, tuple[str, ...]] | None:
    if module in _LIBRARIES:
        return _LIBRARIES[module]
    for root, value in _LIBRARIES.items():
        prefixed = "/" in root or (root.count(".") and not root.startswith("@"))
        if prefixed and module.startswith(root):
            return value
    head = module.split("/")[0] if module.startswith("@") else re.split(r"[./]", module)[0]
    return _LIBRARIES.get(head)


# -- structure: functions, branching, nesting ------------------------------------------------

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


@dataclass(slots=True)
class _Function:
    name: str
    line: int  # 1-based
    lines: int
    decisions: int
    depth: int


def _strip_strings_and_comments(line: str) -> str:
    line = re.sub(r"(\"\"\"|''').*?\1|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`", '""', line)
    return re.sub(r"\s(#|//).*$|^\s*(#|//).*$", "", line)


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _nesting(lines: list[str], braces: bool) -> list[int]:
    """Block depth of each line: from braces for C-like code, from indentation otherwise."""
    depths: list[int] = []
    if braces:
        depth = 0
        for line in lines:
            depths.append(depth)
            depth = max(0, depth + line.count("{") - line.count("}"))
        return depths
    unit = min((_indent(ln) for ln in lines if ln.strip() and _indent(ln) > 0), default=4) or 4
    return [(_indent(ln) // unit) if ln.strip() else 0 for ln in lines]


def _functions(raw_lines: list[str], code_lines: list[str], depths: list[int]
               ) -> list[_Function]:
    # Definitions are found in the raw text (route paths live in strings); branches are counted
    # in the text without strings and comments.
    text = "\n".join(raw_lines)
    starts: list[tuple[int, str, int]] = []
    for pattern in _FUNC_DEFS:
        for m in pattern.finditer(text):
            line_no = text.count("\n", 0, m.start()) + 1
            name = m.group(2)
            route = re.match(r"""(\w+)\(\s*["']([^"']+)["']""", name)
            if route:
                name = f"{route.group(1).upper()} {route.group(2)}"
            starts.append((line_no, name, _indent(m.group(1))))
    starts = sorted({s[0]: s for s in starts}.values())
    funcs: list[_Function] = []
    for i, (line_no, name, indent) in enumerate(starts):
        end = len(code_lines)
        for j in range(line_no, len(code_lines)):  # until a line at or left of the def
            ln = code_lines[j]
            if ln.strip() and _indent(ln) <= indent and not ln.strip().startswith((")", "}")):
                end = j
                break
        if i + 1 < len(starts) and starts[i + 1][2] <= indent:
            end = min(end, starts[i + 1][0] - 1)
        body = code_lines[line_no - 1:end]
        base = depths[line_no - 1] if line_no - 1 < len(depths) else 0
        depth = max((d - base for d in depths[line_no - 1:end]), default=0)
        funcs.append(_Function(
            name=name, line=line_no, lines=max(1, len([b for b in body if b.strip()])),
            decisions=sum(len(_DECISION.findall(b)) for b in body), depth=max(0, depth),
        ))
    return funcs


# -- the code analysis -----------------------------------------------------------------------------

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
    quality_indicators: list[str]
    issues: list[dict[str, Any]]
    functions: list[_Function]
    decisions: int
    max_depth: int
    complexity: int
    score: int
    hotspots: list[dict[str, Any]] = field(default_factory=list)

    @property
    def level(self) -> str:
        return _level(self.complexity)

    def summary(self, analysis_type: str) -> str:
        where = f" in {self.file_path}" if self.file_path else ""
        libs = ", ".join(self.frameworks[:4]) or "no recognised libraries"
        base = (
            f"{self.language} code{where}: {_n(self.loc, 'line')}, "
            f"{_n(len(self.functions), 'function')}, {_n(self.decisions, 'branch point')}, "
            f"nesting depth {self.max_depth}; uses {libs}."
        )
        if analysis_type == "code_quality":
            base += f" {_n(len(self.issues), 'possible issue')} flagged; score {self.score}/10."
        elif analysis_type == "code_complexity":
            base += f" Estimated complexity {self.complexity}/10 ({self.level})."
        return f"{base} {OFFLINE_NOTE}; figures come from pattern matching."


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _level(complexity: int) -> str:
    return "low" if complexity <= 3 else "moderate" if complexity <= 6 else (
        "high" if complexity <= 8 else "critical")


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

_ISSUE_CUES: tuple[tuple[str, str, str, str, str], ...] = (
    # severity, category, regex, description, suggestion
    ("high", "security",
     r"""(?i)\b\w*(password|passwd|secret|api_?key|token)\w*\s*[:=]\s*["'][^"'\s]{6,}["']""",
     "a credential appears to be hard-coded in the source",
     "Read credentials from the environment or a secret store, never from the source."),
    ("high", "security", r"\beval\(|\bexec\(|\bnew Function\(",
     "dynamic code execution (eval/exec) can run untrusted input as code",
     "Replace eval/exec with explicit parsing or a lookup table."),
    ("high", "security", r"""(?i)\.execute\(\s*f["']|\.execute\(\s*["'][^"']*["']\s*(%|\+)|"""
                         r"""["']\s*(select|insert|update|delete)\b[^"']*["']\s*\+""",
     "SQL is built by string formatting, which is open to injection",
     "Pass values to SQL as bound parameters instead of formatting them into the query."),
    ("high", "security", r"verify\s*=\s*False|rejectUnauthorized\s*:\s*false",
     "TLS certificate verification is disabled",
     "Keep TLS verification on; trust a private CA explicitly if needed."),
    ("moderate", "security", r"(?i)\b(md5|sha1)\s*\(",
     "MD5/SHA-1 are not suitable for passwords or signatures",
     "Use a password hash (bcrypt, argon2) or SHA-256 and above for signatures."),
    ("moderate", "security", r"(?i)\brandom\.(random|randint|choice)\(.*(token|secret|password)|"
                             r"(token|secret|password).*\brandom\.(random|randint|choice)\(",
     "the random module is not cryptographically secure",
     "Generate tokens and secrets with the secrets module."),
    ("moderate", "bug", r"^\s*except\s*:\s*$|^\s*catch\s*\(\s*\w*\s*\)\s*\{\s*\}",
     "a bare except or empty catch swallows every error, including bugs",
     "Catch the specific exceptions you expect and let the rest propagate."),
    ("moderate", "bug", r"^\s*except\s+(Base)?Exception\b.*:\s*\n\s*pass\b",
     "exceptions are caught and silently ignored",
     "Log or handle caught exceptions instead of passing silently."),
    ("low", "maintainability", r"\b(TODO|FIXME|XXX|HACK)\b",
     "unfinished work is marked in the code (TODO/FIXME)",
     "Finish or track the TODO/FIXME items in the issue tracker."),
    ("low", "maintainability", r"^\s*print\(|\bconsole\.log\(",
     "print/console.log is used where structured logging would be easier to control",
     "Use the logging framework instead of print/console.log."),
)


def analyze_code(code: str, file_path: str | None = None) -> CodeFacts:
    """Run every heuristic over ``code``. Pure and deterministic."""
    language = detect_language(code, file_path)
    raw_lines = code.splitlines()
    code_lines = [_strip_strings_and_comments(ln) for ln in raw_lines]
    loc = sum(1 for ln in code_lines if ln.strip())
    braces = language not in ("Python", "Ruby", "YAML", "unknown") and "{" in code
    depths = _nesting(code_lines, braces)
    funcs = _functions(raw_lines, code_lines, depths)
    decisions = sum(len(_DECISION.findall(ln)) for ln in code_lines)
    max_depth = max(depths, default=0)

    imports = imports_of(code)
    frameworks: list[str] = []
    domains: list[str] = []
    for module in imports:
        lib = _library_for(module)
        if lib is None:
            continue
        if lib[0] not in frameworks:
            frameworks.append(lib[0])
        domains += [d for d in lib[1] if d not in domains]
    for domain, pattern in _DOMAIN_CUES:
        if domain not in domains and len(re.findall(pattern, code, re.MULTILINE)) >= 2:
            domains.append(domain)

    patterns = [name for name, pattern in _PATTERN_CUES if re.search(pattern, code, re.MULTILINE)]

    # Quality indicators.
    indicators: list[str] = []
    py_defs = re.findall(r"^\s*(?:async\s+)?def\s+\w+\s*\((.*?)\)\s*(->)?", code,
                         re.MULTILINE | re.DOTALL)
    if language == "Python" and py_defs:
        typed = sum(1 for params, arrow in py_defs if arrow or ":" in params)
        if typed / len(py_defs) >= 0.5:
            indicators.append("type hints")
    elif language == "TypeScript":
        indicators.append("static types (TypeScript)")
    doc_count = len(re.findall(r"^\s*(?:async\s+)?(?:def|class)\s.*:\s*\n\s*[rbu]?(\"\"\"|''')",
                               code, re.MULTILINE)) + len(re.findall(r"/\*\*", code))
    if doc_count and doc_count >= max(1, len(funcs) // 2):
        indicators.append("docstrings")
    elif doc_count:
        indicators.append("some docstrings")
    is_test = bool(re.search(r"^\s*(async\s+)?def test_\w+|\b(describe|it|test)\(\s*['\"]|"
                             r"@Test\b|#\[test\]", code, re.MULTILINE))
    if is_test:
        indicators.append("tests")
    if re.search(r"^\s*except\s+[A-Z]\w*|\bcatch\s*\(\s*\w+|\braise \w+Error\(|\bthrow new \w+",
                 code, re.MULTILINE):
        indicators.append("explicit error handling")
    if re.search(r"\blogging\.|\blogger\.\w+\(|\blog\.(info|warn|error|debug)\(", code):
        indicators.append("logging")
    if re.search(r"\bos\.environ|\bgetenv\(|\bprocess\.env\.|BaseSettings\b", code):
        indicators.append("configuration from the environment")
    if funcs and sum(f.lines for f in funcs) / len(funcs) <= 25:
        indicators.append("small functions")
    if re.search(r"^[A-Z][A-Z0-9_]{2,}\s*(:\s*[\w\[\], ]+)?=", code, re.MULTILINE):
        indicators.append("named constants")

    # Issues with line numbers.
    issues: list[dict[str, Any]] = []
    for severity, category, pattern, description, suggestion in _ISSUE_CUES:
        match = re.search(pattern, code, re.MULTILINE)
        if match:
            line = code.count("\n", 0, match.start()) + 1
            issues.append({"severity": severity, "category": category,
                           "description": description, "line": line,
                           "suggestion": suggestion})
    def flag(severity: str, category: str, description: str, line: int, suggestion: str) -> None:
        issues.append({"severity": severity, "category": category, "description": description,
                       "line": line, "suggestion": suggestion})

    for f in funcs:
        if f.lines > 60:
            flag("moderate", "maintainability", f"function {f.name} is long ({f.lines} lines)",
                 f.line, f"Split {f.name} into smaller functions with one job each.")
        if f.depth >= 5:
            flag("moderate", "readability", f"function {f.name} nests {f.depth} levels deep",
                 f.line, f"Flatten {f.name} with early returns or helper functions.")
    long_lines = [i + 1 for i, ln in enumerate(raw_lines) if len(ln) > 120]
    if long_lines:
        flag("low", "style", f"{len(long_lines)} line(s) longer than 120 characters",
             long_lines[0], "Wrap long lines (a formatter such as ruff or prettier does it).")
    if language == "Python" and funcs and "docstrings" not in indicators and not is_test:
        flag("low", "documentation", "functions have no docstrings", funcs[0].line,
             "Add docstrings to public functions.")
    if language == "Python" and py_defs and "type hints" not in indicators:
        flag("low", "maintainability", "most functions have no type hints",
             funcs[0].line if funcs else 1, "Add type hints and check them with mypy.")
    severity_rank = {"critical": 0, "high": 1, "moderate": 2, "low": 3}
    issues.sort(key=lambda i: (severity_rank[i["severity"]], i["line"]))  # most severe first

    # Complexity 1-10: size, branching per function, and nesting, each capped.
    per_func = decisions / max(1, len(funcs))
    complexity = 1.0 + min(3.0, loc / 120) + min(3.5, per_func / 2.5) + min(
        2.5, max(0, max_depth - 1) * 0.6)
    complexity_i = max(1, min(10, round(complexity)))

    weights = {"critical": 3.0, "high": 2.0, "moderate": 1.0, "low": 0.25}
    score = 6.0 + sum(0.75 for i in indicators if i in (
        "type hints", "docstrings", "tests", "explicit error handling", "small functions",
        "static types (TypeScript)")) - sum(weights[i["severity"]] for i in issues)
    score_i = max(1, min(10, math.floor(score + 0.5)))

    hot = sorted((f for f in funcs if f.decisions), key=lambda f: (-f.decisions, -f.depth, f.line))
    hotspots = [
        {"name": f.name, "line": f.line, "complexity": min(10, 1 + f.decisions),
         "reason": f"{f.decisions} branch points, nesting depth {f.depth}, {f.lines} lines"}
        for f in hot[:3]
    ]
    return CodeFacts(
        language=language, file_path=file_path, loc=loc, imports=imports, frameworks=frameworks,
        domains=domains, patterns=patterns, quality_indicators=indicators, issues=issues,
        functions=funcs, decisions=decisions, max_depth=max_depth, complexity=complexity_i,
        score=score_i, hotspots=hotspots,
    )


def _code_values(facts: CodeFacts, analysis_type: str) -> dict[str, Any]:
    """Property name -> value, for the code types."""
    strengths = [f"uses {i}" for i in facts.quality_indicators]
    suggestions = [str(i["suggestion"]) for i in facts.issues]
    return {
        "language": facts.language,
        "primary_language": facts.language,
        "frameworks": facts.frameworks,
        "libraries": facts.frameworks,
        "patterns": facts.patterns,
        "design_patterns": facts.patterns,
        "complexity": facts.complexity,
        "complexity_score": facts.complexity,
        "cognitive_load": facts.level,
        "quality_indicators": facts.quality_indicators,
        "domains": facts.domains,
        "domain": facts.domains[0] if facts.domains else None,
        "score": facts.score,
        "quality_score": facts.score,
        "strengths": strengths,
        "issues": facts.issues,
        "suggestions": suggestions,
        "recommendations": suggestions,
        "hotspots": facts.hotspots,
        "summary": facts.summary(analysis_type),
        "confidence": 0.3,
    }


# Technology words for prose (task descriptions, activity data): display names of the libraries
# above and the languages, matched as whole words.
def _tech_terms(text: str) -> list[str]:
    names = sorted({v[0] for v in _LIBRARIES.values()} | set(_EXTENSIONS.values()) | {
        "OAuth", "JWT", "REST", "GraphQL", "Kubernetes", "Docker", "PostgreSQL", "MySQL",
        "MongoDB", "AWS", "GCP", "Azure", "Terraform", "CI/CD", "microservices"})
    found = []
    for name in names:
        if len(name) < 2 or name in ("C", "R", "JSON", "Markdown", "unittest"):
            continue
        if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text, re.IGNORECASE):
            found.append(name)
    return found


def _generic_values(content: str) -> dict[str, Any]:
    terms = _tech_terms(content)
    languages = sorted(set(terms) & set(_EXTENSIONS.values()))
    domains = [d for d, pattern in _DOMAIN_CUES
               if len(re.findall(pattern, content, re.MULTILINE)) >= 2]
    return {
        "domain": domains[0] if domains else None,
        "domains": domains,
        "primary_languages": languages,
        "summary": PLACEHOLDER_SUMMARY,
        "reasoning": PLACEHOLDER_SUMMARY,
        "full_text": PLACEHOLDER_SUMMARY,
        "keywords": terms,
        "required_skills": terms,
        "confidence": 0.0,
    }


# -- building the answer from the schema -----------------------------------------------------

_MISSING = object()


def answer(request: CompletionRequest) -> Any:
    """The JSON value the provider answers with for ``request``."""
    schema: Mapping[str, Any] = request.json_schema or {"type": "object"}
    data = read_request(request)
    analysis_type = request.metadata.get("analysis_type", "")
    if analysis_type in CODE_TYPES:
        facts = analyze_code(data.content, data.file_path)
        hint = data.context.get("language")
        if facts.language == "unknown" and isinstance(hint, str) and hint.strip():
            facts.language = hint.strip()  # the caller's hint when the code gives none
        values = _code_values(facts, analysis_type)
    else:
        values = _generic_values(data.content)
    return _fill(schema, schema, values)


def _fill(schema: Mapping[str, Any], root: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
    schema = resolve_ref(schema, root)
    props: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for name, prop in props.items():
        value = values.get(name, _MISSING)
        if value is _MISSING or value is None:
            if name in required:
                out[name] = example_from_schema(prop, root, text=_placeholder(name))
            continue
        fitted = _fit(value, prop, root)
        if fitted is not _MISSING:
            out[name] = fitted
        elif name in required:
            out[name] = example_from_schema(prop, root, text=_placeholder(name))
    return out


def _placeholder(name: str) -> str:
    return PLACEHOLDER_SUMMARY if name in ("summary", "reasoning", "full_text") else "n/a"


def _types(schema: Mapping[str, Any]) -> list[str]:
    typ = schema.get("type")
    if isinstance(typ, list):
        return [t for t in typ if t != "null"]
    if typ is None:
        return ["object"] if "properties" in schema else []
    return [typ]


_LEVEL_ORDER = ("low", "moderate", "medium", "high", "critical")


def _fit(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """Coerce a heuristic value to ``schema``; ``_MISSING`` when it cannot fit."""
    schema = resolve_ref(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for option in schema[key]:
                option = resolve_ref(option, root)
                if option.get("type") == "null":
                    continue
                fitted = _fit(value, option, root)
                if fitted is not _MISSING:
                    return fitted
            return _MISSING
    if schema.get("allOf"):
        return _fit(value, schema["allOf"][0], root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return _fit_enum(value, list(schema["enum"]))
    types = _types(schema)
    if not types:
        return value
    typ = types[0]
    if typ == "array":
        items = value if isinstance(value, list) else [value]
        item_schema = schema.get("items", {})
        fitted = [f for f in (_fit(v, item_schema, root) for v in items) if f is not _MISSING]
        fitted = list(dict.fromkeys(json.dumps(f, sort_keys=True) for f in fitted))  # dedupe
        result = [json.loads(f) for f in fitted]
        if "maxItems" in schema:
            result = result[: int(schema["maxItems"])]
        while len(result) < int(schema.get("minItems", 0)):
            result.append(example_from_schema(item_schema, root))
        return result
    if typ == "object":
        if isinstance(value, Mapping):
            return _fill(schema, root, value)
        if isinstance(value, str):  # e.g. a hotspot given by name only
            return _fill(schema, root, {"name": value, "description": value, "skill": value})
        return _MISSING
    if typ == "string":
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        text = str(value)
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        if len(text) < int(schema.get("minLength", 0)):
            return _MISSING
        return text
    if typ in ("integer", "number"):
        if isinstance(value, str) and value.lower() in _LEVEL_ORDER:
            value = (_LEVEL_ORDER.index(value.lower()) + 1) * 2
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _MISSING
        return _clamp(value, schema, integer=typ == "integer")
    if typ == "boolean":
        return bool(value)
    return _MISSING


def _clamp(value: float, schema: Mapping[str, Any], *, integer: bool) -> float | int:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    step = 1 if integer else 0.01
    if low is not None:
        value = max(value, low + (step if "exclusiveMinimum" in schema else 0))
    if high is not None:
        # A 0..1 field given a 1..10 figure: scale rather than pin at the top.
        if value > high and high <= 1 and (low or 0) >= 0 and value <= 10:
            value = value / 10
        value = min(value, high - (step if "exclusiveMaximum" in schema else 0))
    return round(value) if integer else round(float(value), 4)


def _fit_enum(value: Any, options: list[Any]) -> Any:
    if value in options:
        return value
    lowered = {str(o).lower(): o for o in options}
    if isinstance(value, str) and value.lower() in lowered:
        return lowered[value.lower()]
    if isinstance(value, str) and value.lower() in _LEVEL_ORDER:
        # Nearest level the enum offers (``moderate`` and ``medium`` are the same rank).
        rank = {"low": 0, "moderate": 1, "medium": 1, "high": 2, "critical": 3}
        want = rank[value.lower()]
        ranked = [(abs(rank[k] - want), k) for k in lowered if k in rank]
        if ranked:
            return lowered[min(ranked)[1]]
    for fallback in ("other", "maintainability"):
        if fallback in lowered:
            return lowered[fallback]
    return options[0]
