"""What the offline ``task_signals`` reads in a task's text besides the lexicon's languages,
libraries and prose skills (:mod:`aexy.providers.offline.lexicon`): protocols, more libraries
and tools, platforms, each with its domain; domain cues for prose; the domain of a task that
names only a language; and how a task names a code area.

Everything here is data; ``docs/providers/offline.md`` describes how it is used. A name that
is not listed is not recognised: the heuristics never guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

__all__ = ["AREA_STOPWORDS", "DOC_EXTENSIONS", "DOMAIN_CUES", "LANGUAGE_DOMAINS", "TERMS",
           "Term", "area_tokens", "is_doc_area", "term_patterns", "text_tokens"]


@dataclass(frozen=True, slots=True)
class Term:
    """A skill named in prose: its canonical name, what it is, its domain, and how it is
    written (regular expressions; matched case-insensitively unless ``exact``)."""

    name: str
    kind: str  # protocol, library, platform, tool
    domain: str
    spellings: tuple[str, ...]
    exact: bool = False  # an ordinary word too ("Spark", "Core Data"): this casing only


_P, _L, _F, _T = "protocol", "library", "platform", "tool"

TERMS: tuple[Term, ...] = (
    # protocols and formats
    Term("HTTP", _P, "networking", (r"HTTPS?(?![/\w])", r"HTTP/1(?:\.[01])?")),
    Term("HTTP/2", _P, "networking", (r"HTTP/2", r"HTTP2")),
    Term("HTTP/3", _P, "networking", (r"HTTP/3", r"HTTP3")),
    Term("QUIC", _P, "networking", (r"QUIC",)),
    Term("TCP", _P, "networking", (r"TCP(?:/IP)?",)),
    Term("UDP", _P, "networking", (r"UDP",)),
    Term("TLS", _P, "networking", (r"TLS", r"SSL", r"mTLS")),
    Term("DNS", _P, "networking", (r"DNS",)),
    Term("SOCKS", _P, "networking", (r"SOCKS5?",), exact=True),
    Term("SSH", _P, "networking", (r"SSH",)),
    Term("SMTP", _P, "notifications", (r"SMTP",)),
    Term("IMAP", _P, "notifications", (r"IMAP",)),
    Term("MQTT", _P, "messaging", (r"MQTT",)),
    Term("AMQP", _P, "messaging", (r"AMQP",)),
    Term("WebRTC", _P, "real-time communication", (r"WebRTC",)),
    Term("Server-Sent Events", _P, "real-time communication",
         (r"server[- ]sent events", r"SSE"), exact=False),
    Term("ASGI", _P, "web development", (r"ASGI",)),
    Term("WSGI", _P, "web development", (r"WSGI",)),
    Term("CORS", _P, "web development", (r"CORS",)),
    Term("Protocol Buffers", _P, "serialization",
         (r"protobufs?", r"protocol buffers?", r"\.proto files?")),
    Term("Avro", _P, "serialization", (r"Avro",), exact=True),
    Term("Thrift", _P, "serialization", (r"Thrift",), exact=True),
    Term("MessagePack", _P, "serialization", (r"MessagePack", r"msgpack")),
    Term("JSON Schema", _P, "data validation", (r"JSON[- ]Schema",)),
    # libraries, servers and tools
    Term("Prometheus", _T, "observability", (r"Prometheus",)),
    Term("Grafana", _T, "observability", (r"Grafana",)),
    Term("OpenTelemetry", _T, "observability", (r"OpenTelemetry", r"OTel")),
    Term("Datadog", _T, "observability", (r"Datadog",)),
    Term("Sentry", _T, "observability", (r"Sentry",), exact=True),
    Term("Jaeger", _T, "observability", (r"Jaeger",), exact=True),
    Term("Kibana", _T, "observability", (r"Kibana",)),
    Term("Nginx", _T, "infrastructure", (r"Nginx",)),
    Term("Envoy", _T, "infrastructure", (r"Envoy",), exact=True),
    Term("HAProxy", _T, "infrastructure", (r"HAProxy",)),
    Term("Istio", _T, "infrastructure", (r"Istio",)),
    Term("Ansible", _T, "infrastructure", (r"Ansible",)),
    Term("Jenkins", _T, "infrastructure", (r"Jenkins",)),
    Term("GitHub Actions", _T, "infrastructure", (r"GitHub Actions",)),
    Term("GitLab CI", _T, "infrastructure", (r"GitLab CI",)),
    Term("Bazel", _T, "build systems", (r"Bazel",)),
    Term("CMake", _T, "build systems", (r"CMake",)),
    Term("Gradle", _T, "build systems", (r"Gradle",)),
    Term("Maven", _T, "build systems", (r"Maven",), exact=True),
    Term("Webpack", _T, "frontend", (r"Webpack",)),
    Term("Vite", _T, "frontend", (r"Vite",), exact=True),
    Term("ESLint", _T, "frontend", (r"ESLint",)),
    Term("Storybook", _T, "frontend", (r"Storybook",)),
    Term("Playwright", _T, "testing", (r"Playwright",)),
    Term("Cypress", _T, "testing", (r"Cypress",), exact=True),
    Term("Selenium", _T, "testing", (r"Selenium",)),
    Term("mypy", _T, "type checking", (r"mypy",)),
    Term("Sphinx", _T, "documentation", (r"Sphinx",), exact=True),
    Term("MkDocs", _T, "documentation", (r"MkDocs",)),
    Term("Trio", _L, "concurrency", (r"Trio",), exact=True),
    Term("AnyIO", _L, "concurrency", (r"AnyIO",)),
    Term("Uvicorn", _L, "web development", (r"Uvicorn",)),
    Term("Gunicorn", _L, "web development", (r"Gunicorn",)),
    Term("Jinja", _L, "web development", (r"Jinja2?",)),
    Term("Cython", _L, "performance", (r"Cython",)),
    Term("urllib3", _L, "HTTP clients", (r"urllib3",)),
    Term("Memcached", _T, "caching", (r"Memcached?",)),
    Term("Cassandra", _T, "databases", (r"Cassandra",)),
    Term("ClickHouse", _T, "databases", (r"ClickHouse",)),
    Term("DynamoDB", _T, "databases", (r"DynamoDB",)),
    Term("BigQuery", _T, "data pipelines", (r"BigQuery",)),
    Term("Snowflake", _T, "data pipelines", (r"Snowflake",), exact=True),
    Term("Airflow", _T, "data pipelines", (r"Airflow",), exact=True),
    Term("Apache Spark", _T, "data pipelines", (r"Apache Spark", r"PySpark", r"Spark"),
         exact=True),
    Term("dbt", _T, "data pipelines", (r"dbt",), exact=True),
    Term("Flink", _T, "data pipelines", (r"Flink",)),
    Term("etcd", _T, "infrastructure", (r"etcd",)),
    Term("Amazon S3", _T, "cloud infrastructure", (r"S3", r"Amazon S3")),
    Term("Amazon SQS", _T, "messaging", (r"SQS",)),
    Term("AWS Lambda", _T, "cloud infrastructure", (r"AWS Lambda", r"Lambda functions?"),
         exact=True),
    Term("Firebase", _T, "mobile", (r"Firebase",)),
    # platforms and their frameworks
    Term("iOS", _F, "mobile", (r"iOS", r"iPadOS"), exact=True),
    Term("Android", _F, "mobile", (r"Android",)),
    Term("macOS", _F, "desktop", (r"macOS", r"OS X"), exact=True),
    Term("Windows", _F, "desktop", (r"Windows",), exact=True),
    Term("WebAssembly", _F, "web development", (r"WebAssembly", r"WASM")),
    Term("Core Data", _L, "mobile", (r"Core ?Data",), exact=True),
    Term("SwiftUI", _L, "mobile", (r"SwiftUI",)),
    Term("UIKit", _L, "mobile", (r"UIKit",)),
    Term("Jetpack Compose", _L, "mobile", (r"Jetpack Compose",)),
    Term("React Native", _L, "mobile", (r"React Native",)),
    Term("Flutter", _L, "mobile", (r"Flutter",), exact=True),
    Term("Electron", _L, "desktop", (r"Electron",), exact=True),
)

#: Domain cues in prose, added to the lexicon's (the domain with the most hits wins).
DOMAIN_CUES: tuple[tuple[str, str], ...] = (
    ("networking", r"(?i)\b(connections?|connection pool\w*|sockets?|transports?|prox(y|ies)|"
                   r"timeouts?|retr(y|ies|ied|ying)|resets?|keep-?alive|handshakes?|"
                   r"certificates?|tls|ssl|dns|tcp|udp|http/?[23]|quic|ipv6|network\w*)\b"),
    ("HTTP clients", r"(?i)\b(http clients?|api clients?|user[- ]agents?|redirects?|"
                     r"cookies?|request headers?)\b"),
    ("concurrency", r"(?i)\b(async\w*|await\w*|coroutines?|event loops?|threads?|threading|"
                    r"locks?|deadlocks?|goroutines?|multiprocessing|parallel\w*)\b"),
    ("serialization", r"(?i)\b(seriali[sz]\w*|deseriali[sz]\w*|protobufs?|protocol buffers|"
                      r"msgpack|avro|encod(e|es|ing)|decod(e|es|ing)|pars(e|er|ing))\b"),
    ("documentation", r"(?i)\b(docs|documentation|readme|docstrings?|tutorials?|"
                      r"guides?)\b"),
    ("packaging and releases", r"(?i)\b(releases?|packaging|wheels?|pypi|sdist|npm publish|"
                               r"versioning|changelog|dependenc(y|ies)|upgrades?)\b"),
    ("command-line tools", r"(?i)\b(cli|command[- ]line|terminal|shell completion|"
                           r"subcommands?)\b"),
    ("observability", r"(?i)\b(prometheus|grafana|opentelemetry|telemetry|spans?|traces?)\b"),
    ("mobile", r"(?i)\b(swiftui|uikit|core ?data|jetpack|react native|flutter)\b"),
)

#: The domain of a task that names a language and nothing with a domain of its own.
LANGUAGE_DOMAINS: dict[str, str] = {
    "Rust": "systems programming", "C": "systems programming", "C++": "systems programming",
    "Go": "backend services", "Java": "backend services", "Kotlin": "backend services",
    "Scala": "backend services", "C#": "backend services", "Elixir": "backend services",
    "Erlang": "backend services", "PHP": "web development", "Ruby": "web development",
    "JavaScript": "web development", "TypeScript": "web development",
    "Swift": "mobile", "Objective-C": "mobile", "Dart": "mobile", "SQL": "databases",
    "Shell": "scripting and automation", "PowerShell": "scripting and automation",
    "HCL": "infrastructure", "R": "data analysis",
}

# -- code areas ------------------------------------------------------------------------------------
#: Parts of area names too common to say which area a task means.
AREA_STOPWORDS = frozenset({
    "src", "lib", "pkg", "internal", "main", "index", "init", "default", "base", "common",
    "core", "util", "utils", "misc", "test", "tests", "spec", "specs", "app", "apps", "the",
    "and", "for", "with", "new", "old", "doc", "api", "mod", "types",
})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^0-9A-Za-z]+")
_WORD = re.compile(r"[0-9A-Za-z]+")


def _stem(word: str) -> str:
    """A word folded for comparison: lower case, a plural or possessive ``s`` dropped."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


#: Extensions of documentation and data files: areas a task about code does not mean.
DOC_EXTENSIONS = frozenset({".md", ".rst", ".txt", ".adoc", ".json", ".yaml", ".yml", ".toml",
                            ".csv", ".html"})


def is_doc_area(path: str) -> bool:
    """A documentation or data file, or a directory of documentation (``docs/``)."""
    if path.endswith("/"):
        return path.rstrip("/").rpartition("/")[2].lower() in ("doc", "docs", "documentation")
    name = path.rpartition("/")[2].lower()
    return any(name.endswith(ext) for ext in DOC_EXTENSIONS) or name.startswith("readme")


def area_tokens(path: str) -> frozenset[str]:
    """The words that name an area: those of its last part (``httpx/_transports/`` ->
    ``transport``; ``render/json_test.go`` -> ``json``), stopwords and short words left out.
    Empty when nothing specific remains (a task cannot name such an area)."""
    last = path.rstrip("/").rpartition("/")[2]
    if not path.endswith("/") and "." in last.lstrip("."):
        last = last.lstrip(".").rsplit(".", 1)[0]
    words = [w for part in _SPLIT.split(last) for w in _CAMEL.split(part) if w]
    return frozenset(s for s in map(_stem, words) if len(s) >= 3 and s not in AREA_STOPWORDS)


def text_tokens(text: str) -> frozenset[str]:
    """The words of a text, folded as :func:`area_tokens` folds them."""
    words = [w for m in _WORD.finditer(text.replace("'s", "")) for w in _CAMEL.split(m.group(0))]
    return frozenset(map(_stem, words))


@cache
def term_patterns() -> tuple[tuple[Term, re.Pattern[str]], ...]:
    """Each term with one whole-word pattern for all its spellings."""
    out = []
    for term in TERMS:
        body = "|".join(term.spellings)
        flags = "" if term.exact else "(?i)"
        out.append((term, re.compile(rf"{flags}(?<![\w.+#/-])(?:{body})(?![\w+#])")))
    return tuple(out)
