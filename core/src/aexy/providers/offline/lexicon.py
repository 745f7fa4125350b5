"""Names the offline heuristics recognise: file extensions, libraries (by import root) with
their domains, and the skill and domain vocabulary read in prose (task texts).

Everything here is data; ``docs/providers/offline.md`` describes how it is used. A name that
is not listed is not recognised: the heuristics never guess.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = [
    "CODE_DOMAIN_CUES",
    "C_SYSTEM_DIRS",
    "C_SYSTEM_HEADERS",
    "EXTENSIONS",
    "JAVA_PLATFORM",
    "LIBRARIES",
    "NODE_BUILTINS",
    "RUBY_STDLIB",
    "RUST_BUILTIN_ROOTS",
    "TASK_DOMAIN_CUES",
    "skill_terms",
]

EXTENSIONS: dict[str, str] = {
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

# import root -> (display name, domains). Roots are matched on the first path component
# (Python ``a.b``, JS ``a/b`` or ``@scope/a``, Go and Java full prefixes).
LIBRARIES: dict[str, tuple[str, tuple[str, ...]]] = {
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
    "pika": ("pika", ("messaging",)),
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
    "bs4": ("bs4", ("web scraping",)),
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
    "pg": ("pg", ("databases",)),
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
    "javax.persistence": ("Jakarta Persistence (JPA)", ("databases",)),
    "jakarta.persistence": ("Jakarta Persistence (JPA)", ("databases",)),
    "org.hibernate": ("Hibernate", ("databases",)),
    "org.junit": ("JUnit", ("testing",)),
    "actix_web": ("Actix Web", ("web APIs",)),
    "axum": ("Axum", ("web APIs",)),
    "tokio": ("Tokio", ("concurrency",)),
    "serde": ("Serde", ("serialization",)),
    "diesel": ("Diesel", ("databases",)),
    "sqlx": ("SQLx", ("databases",)),
    # More Go, Rust, Java, Ruby, C and C++ (by the library names of aexy.providers.offline.code)
    "github.com/go-chi/chi": ("chi", ("web APIs",)),
    "github.com/gofiber/fiber": ("Fiber", ("web APIs",)),
    "github.com/spf13/cobra": ("Cobra", ("command-line tools",)),
    "github.com/urfave/cli": ("urfave/cli", ("command-line tools",)),
    "github.com/sirupsen/logrus": ("Logrus", ("logging",)),
    "go.uber.org/zap": ("zap", ("logging",)),
    "github.com/stretchr/testify": ("testify", ("testing",)),
    "github.com/prometheus/client_golang": ("Prometheus", ("observability",)),
    "google.golang.org/grpc": ("gRPC", ("RPC",)),
    "google.golang.org/protobuf": ("Protocol Buffers (protobuf)", ("serialization",)),
    "github.com/golang/protobuf": ("Protocol Buffers (protobuf)", ("serialization",)),
    "github.com/jackc/pgx": ("pgx", ("databases",)),
    "github.com/lib/pq": ("pq", ("databases",)),
    "github.com/redis/go-redis": ("Redis", ("caching",)),
    "github.com/go-redis/redis": ("Redis", ("caching",)),
    "k8s.io/client-go": ("Kubernetes client-go", ("infrastructure",)),
    "hyper": ("Hyper", ("HTTP clients",)),
    "reqwest": ("reqwest", ("HTTP clients",)),
    "clap": ("clap", ("command-line tools",)),
    "serde_json": ("Serde", ("serialization",)),
    "anyhow": ("anyhow", ("error handling",)),
    "thiserror": ("thiserror", ("error handling",)),
    "tracing": ("tracing", ("observability",)),
    "futures": ("futures", ("concurrency",)),
    "rayon": ("Rayon", ("concurrency",)),
    "tonic": ("tonic", ("RPC",)),
    "prost": ("prost (Protocol Buffers)", ("serialization",)),
    "org.junit.jupiter": ("JUnit", ("testing",)),
    "org.mockito": ("Mockito", ("testing",)),
    "org.slf4j": ("SLF4J", ("logging",)),
    "com.google.common": ("Google Guava", ()),
    "com.fasterxml.jackson": ("Jackson", ("serialization",)),
    "io.reactivex": ("RxJava (ReactiveX)", ("concurrency",)),
    "com.facebook.react": ("React Native", ("mobile",)),
    "android": ("Android", ("mobile",)),
    "androidx": ("Android Jetpack", ("mobile",)),
    "rails": ("Ruby on Rails", ("web development",)),
    "active_record": ("Active Record", ("databases",)),
    "active_support": ("Active Support", ()),
    "sinatra": ("Sinatra", ("web development",)),
    "rack": ("Rack", ("web development",)),
    "rspec": ("RSpec", ("testing",)),
    "minitest": ("Minitest", ("testing",)),
    "faraday": ("Faraday", ("HTTP clients",)),
    "sidekiq": ("Sidekiq", ("background jobs",)),
    "gtest": ("GoogleTest (gtest)", ("testing",)),
    "gmock": ("GoogleTest (gmock)", ("testing",)),
    "catch2": ("Catch2", ("testing",)),
    "boost": ("Boost", ()),
    "Python": ("CPython C API", ()),
    "pybind11": ("pybind11", ()),
    "openssl": ("OpenSSL", ("security",)),
    "zlib": ("zlib", ("compression",)),
    "fmt": ("fmt", ()),
    "nlohmann": ("nlohmann/json", ("serialization",)),
    "QtCore": ("Qt", ("desktop applications",)),
    "QtWidgets": ("Qt", ("desktop applications",)),
}

# Words of the code (comments and strings never count) that indicate a domain even without an
# import: (domain, stems, pattern). The pattern runs over the code's identifiers, lower-cased
# (databases: over the lower-cased code), and only where one of the stems is in them: every
# match holds one of the stems within one identifier, so the stems only save the work. Two
# matches make the domain.
CODE_DOMAIN_CUES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("authentication", ("oauth", "jwt", "token", "login", "authenticat", "password", "bearer"),
     r"\boauth2?\b|\bjwt\b|access_token|refresh_token|\blogin\b|\bauthenticat\w*|password|"
     r"bearer"),
    ("authorization", ("scope", "permission", "authori", "rbac", "role"),
     r"\bscopes?\b|\bpermission\w*|\bauthori[sz]\w*|\brbac\b|\brole"),
    ("security", ("hash", "csrf", "encrypt", "secret", "hmac"),
     r"\bhash\w*\b|\bcsrf\b|\bencrypt\w*|\bsecret\w*\b|\bhmac\b"),
    ("databases", ("select", "insert", "session", "query"),
     r"\bselect\s+.+\s+from\b|\binsert into\b|\bsession\.commit\(|\.query\("),
    ("web APIs", ("@app.", "@router.", "@api.", "httpexception"),
     r"@(?:app|router|api)\.(?:get|post|put|patch|delete)\(|\bhttpexception\b"),
    ("payments", ("payment", "invoice", "checkout", "stripe"),
     r"\bpayment\w*|\binvoice\w*|\bcheckout\b|\bstripe\b"),
)
# (Testing is a domain only where the code holds tests or imports a test library: an
# ``assert`` is not a test.)


# Domain cues in prose (task titles and descriptions): domain -> pattern; the domain with the
# most hits wins, ties in this order.
TASK_DOMAIN_CUES: tuple[tuple[str, str], ...] = (
    ("authentication", r"(?i)\b(log ?in|sign[ -]?(in|on|up)|sso|saml|oauth\w*|oidc|jwt|"
                       r"password\w*|sessions?|2fa|mfa|authenticat\w*)\b"),
    ("authorization", r"(?i)\b(permissions?|roles?|rbac|acl|access control|authori[sz]\w*)\b"),
    ("payments", r"(?i)\b(payments?|billing|invoices?|checkout|refunds?|subscriptions?|stripe|"
                 r"adyen|ledger)\b"),
    ("databases", r"(?i)\b(databases?|sql|queries|query|index(es)?|schema migrations?|"
                  r"postgres\w*|mysql|mongo\w*|tables?)\b"),
    ("frontend", r"(?i)\b(ui|ux|front[ -]?end|pages?|buttons?|forms?|components?|css|layout|"
                 r"react|vue|angular)\b"),
    ("infrastructure", r"(?i)\b(deploy\w*|kubernetes|k8s|docker\w*|terraform|helm|"
                       r"ci|cd|pipelines?|clusters?|infrastructure)\b"),
    ("performance", r"(?i)\b(slow|latency|performance|optimi[sz]\w*|throughput|"
                    r"caching|cache)\b"),
    ("search", r"(?i)\b(search|elasticsearch|relevance|ranking|full[- ]text)\b"),
    ("data pipelines", r"(?i)\b(etl|data pipelines?|batch jobs?|kafka|streaming|warehouse|"
                       r"ingest\w*)\b"),
    ("observability", r"(?i)\b(logging|metrics|tracing|alert\w*|dashboards?|monitoring)\b"),
    ("security", r"(?i)\b(vulnerabilit\w*|cve|xss|csrf|encrypt\w*|secrets?|injection)\b"),
    ("testing", r"(?i)\b(tests?|flaky|coverage|e2e|end-to-end|qa)\b"),
    ("mobile", r"(?i)\b(ios|android|mobile|app store)\b"),
    ("machine learning", r"(?i)\b(machine learning|ml|training|embeddings?|classifier|llm)\b"),
    ("notifications", r"(?i)\b(emails?|notifications?|sms|push)\b"),
)

# Skills named in prose besides the languages and libraries above.
_PROSE_SKILLS = (
    "OAuth", "JWT", "SAML", "SSO", "REST", "GraphQL", "gRPC", "WebSockets", "Kubernetes",
    "Docker", "Terraform", "Helm", "PostgreSQL", "MySQL", "SQLite", "MongoDB", "Redis", "Kafka",
    "RabbitMQ", "Elasticsearch", "AWS", "GCP", "Azure", "CI/CD", "Microservices", "Node.js",
    "OpenAPI", "Stripe", "Adyen", "Linux", "Git", "Tailwind CSS", "Vue.js", "Spring Boot",
    "Ruby on Rails", "Laravel", ".NET",
)

# Words that are also ordinary English (or a letter): matched only with this exact casing.
_CASE_SENSITIVE = frozenset({
    "Go", "Rust", "Swift", "Dart", "Express", "Spring", "React", "Flask", "Celery", "Lua", "Git",
    "Jest", "Redux", "Vue", "REST", "Helm", "Echo", "Motor", "Next.js", "Koa", "Tornado",
    "Requests", "Click", "Typer", "Axum", "Tokio", "Serde", "Diesel", "Stripe", "Linux",
})
# Too ambiguous in prose to count at all.
_NEVER_IN_PROSE = frozenset({"C", "R", "JSON", "YAML", "TOML", "Markdown", "unittest", "HTML",
                             "CSS", "Shell", "argparse", "asyncio", "SQLx"})
# Aliases of normalize_skill that are ordinary words in prose ("a node", "guard rails").
_WORD_ALIASES = frozenset({"node", "rails", "torch", "mongo", "tailwind", "cpython"})


@cache
def skill_terms() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(canonical name, whole-word pattern) for every skill recognised in prose: languages,
    library display names, the prose skills above, and the aliases of
    :func:`aexy.postprocess.normalize_skill` (``k8s``, ``postgres``, ``golang`` ...)."""
    from aexy.postprocess import SKILL_SPELLINGS, normalize_skill

    names: dict[str, set[str]] = {}
    for name in {*EXTENSIONS.values(), *(v[0] for v in LIBRARIES.values()), *_PROSE_SKILLS}:
        if name not in _NEVER_IN_PROSE:
            names.setdefault(normalize_skill(name), set()).add(name)
    for alias, canonical in SKILL_SPELLINGS.items():
        if (canonical in names and len(alias) > 2 and alias not in _WORD_ALIASES
                and alias != canonical.casefold()):
            names[canonical].add(alias)
    terms = []
    for canonical in sorted(names):
        spellings = sorted(names[canonical], key=len, reverse=True)
        sensitive = [re.escape(s) for s in spellings if s in _CASE_SENSITIVE]
        loose = [re.escape(s) for s in spellings if s not in _CASE_SENSITIVE]
        parts = ([rf"(?:{'|'.join(sensitive)})"] if sensitive else []) + (
            [rf"(?i:{'|'.join(loose)})"] if loose else [])
        terms.append((canonical, re.compile(rf"(?<![\w.+#/-])(?:{'|'.join(parts)})(?![\w+#])")))
    return tuple(terms)


# -- what is not an external library, per language ------------------------------------------------
#: Node's built-in modules (``node:`` prefixed ones are built in by their prefix).
NODE_BUILTINS = frozenset({
    "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants",
    "crypto", "dgram", "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2",
    "https", "inspector", "module", "net", "os", "path", "perf_hooks", "process", "punycode",
    "querystring", "readline", "repl", "stream", "string_decoder", "sys", "timers", "tls",
    "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib", "test",
})
#: Ruby's standard library and default gems, by ``require`` root.
RUBY_STDLIB = frozenset({
    "English", "abbrev", "base64", "benchmark", "bigdecimal", "cgi", "coverage", "csv", "date",
    "delegate", "digest", "drb", "erb", "etc", "fcntl", "fiber", "fiddle", "fileutils", "find",
    "forwardable", "getoptlong", "io", "ipaddr", "irb", "json", "logger", "matrix", "monitor",
    "mutex_m", "net", "objspace", "observer", "open-uri", "open3", "openssl", "optparse",
    "ostruct", "pathname", "pp", "prettyprint", "prime", "pstore", "psych", "racc", "rbconfig",
    "readline", "resolv", "ripper", "securerandom", "set", "shellwords", "singleton", "socket",
    "stringio", "strscan", "syslog", "tempfile", "thread", "time", "timeout", "tmpdir", "tsort",
    "un", "uri", "weakref", "yaml", "zlib", "rubygems", "bundler", "random", "expect", "pty",
    "io/console", "continuation", "enumerator", "nkf", "win32ole",
})
#: Rust path roots that are not crates of the ecosystem.
RUST_BUILTIN_ROOTS = frozenset({
    "std", "core", "alloc", "crate", "self", "super", "Self", "proc_macro", "test",
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    "f32", "f64", "bool", "char", "str",
})
#: Java's platform packages (the JDK), by prefix.
JAVA_PLATFORM = ("java.", "javax.annotation.processing", "javax.crypto", "javax.net",
                 "javax.naming", "javax.sql", "javax.swing", "javax.xml", "javax.lang.model",
                 "javax.tools", "javax.management", "javax.script", "javax.security",
                 "javax.print", "javax.sound", "javax.imageio", "javax.accessibility",
                 "javax.rmi", "jdk.", "sun.", "com.sun.", "org.w3c.dom", "org.xml.sax",
                 "org.ietf.jgss", "kotlin.", "kotlinx.", "scala.")
#: C and C++ headers of the language, POSIX and the operating systems (C++'s own headers have
#: no extension and are recognised by that).
C_SYSTEM_HEADERS = frozenset({
    "assert.h", "complex.h", "ctype.h", "errno.h", "fenv.h", "float.h", "inttypes.h",
    "iso646.h", "limits.h", "locale.h", "math.h", "setjmp.h", "signal.h", "stdalign.h",
    "stdarg.h", "stdatomic.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h", "stdlib.h",
    "stdnoreturn.h", "string.h", "tgmath.h", "threads.h", "time.h", "uchar.h", "wchar.h",
    "wctype.h", "unistd.h", "fcntl.h", "pthread.h", "dirent.h", "dlfcn.h", "netdb.h",
    "poll.h", "sched.h", "semaphore.h", "strings.h", "syslog.h", "termios.h", "utime.h",
    "pwd.h", "grp.h", "regex.h", "glob.h", "fnmatch.h", "spawn.h", "libgen.h", "getopt.h",
    "endian.h", "byteswap.h", "alloca.h", "malloc.h", "memory.h", "iconv.h", "langinfo.h",
    "nl_types.h", "search.h", "ucontext.h", "utmp.h", "wordexp.h", "ftw.h", "aio.h",
    "mqueue.h", "ulimit.h", "execinfo.h", "features.h", "err.h", "sysexits.h", "io.h",
    "windows.h", "winsock2.h", "ws2tcpip.h", "winsock.h", "process.h", "direct.h",
    "intrin.h", "immintrin.h", "emmintrin.h", "xmmintrin.h", "x86intrin.h", "arm_neon.h",
    "cpuid.h", "tchar.h", "crtdbg.h", "share.h", "conio.h", "objbase.h", "shlobj.h",
})
#: Directories of system headers (``<sys/types.h>``, ``<linux/fs.h>``).
C_SYSTEM_DIRS = frozenset({"sys", "linux", "netinet", "arpa", "net", "mach", "asm", "bits",
                           "machine", "libkern", "CoreFoundation", "Security", "netpacket",
                           "mach-o", "os", "xlocale", "android"})
