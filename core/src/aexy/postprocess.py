"""The built-in result post-processors: small, named transforms applied after validation, before
caching (the record, :class:`~aexy.contract.postprocess.PostProcessor`, is the contract's).

The built-in ``normalize_skills`` gives skill, language and framework names one spelling
("python", "Python 3" and "py" all become "Python") and removes duplicates. It finds the fields to
touch by the :data:`SKILL_NAMES` marker, so a plugin's result model can opt in too::

    from typing import Annotated
    from aexy.plugin_api import SKILL_NAMES

    class MyResult(AnalysisResult):
        tools: Annotated[list[str], SKILL_NAMES]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aexy.contract.postprocess import SKILL_NAMES as SKILL_NAMES
from aexy.contract.postprocess import PostProcessor as PostProcessor

if TYPE_CHECKING:
    from aexy.contract.analysis import AnalysisRequest, AnalysisResult

__all__ = [
    "SKILL_NAMES",
    "SKILL_SPELLINGS",
    "PostProcessor",
    "builtin_postprocessors",
    "normalize_skill",
    "normalize_skills",
]


# Canonical spellings; the lookup key is the casefolded name.
_CANONICAL = [
    "Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "Kotlin", "Swift", "C", "C++",
    "C#", "Ruby", "PHP", "Scala", "Elixir", "Erlang", "Haskell", "Clojure", "SQL", "Bash", "HTML",
    "CSS", "R", "Dart", "Lua", "Perl", "Objective-C", "Node.js", "React", "React Native",
    "Vue.js", "Angular", "AngularJS", "Svelte", "Next.js", "Nuxt", "Django", "Flask", "FastAPI",
    "Pydantic", "SQLAlchemy", "Celery", "pytest", "NumPy", "pandas", "PyTorch", "TensorFlow",
    "scikit-learn", "Spring", "Spring Boot", "Ruby on Rails", "Laravel", "Express", "NestJS",
    ".NET", "ASP.NET", "GraphQL", "REST", "gRPC", "Docker", "Kubernetes", "Terraform", "AWS",
    "GCP", "Azure", "PostgreSQL", "MySQL", "SQLite", "MongoDB", "Redis", "Kafka", "RabbitMQ",
    "Elasticsearch", "OAuth", "JWT", "OpenAPI", "Git", "Linux", "CI/CD", "jQuery",
    "Tailwind CSS", "Redux", "asyncio", "Jest", "WebSockets", "Microservices",
]

_ALIASES = {
    "py": "Python", "python3": "Python", "cpython": "Python",
    "js": "JavaScript", "ecmascript": "JavaScript", "es6": "JavaScript", "vanilla js": "JavaScript",
    "ts": "TypeScript",
    "golang": "Go",
    "cpp": "C++", "c plus plus": "C++",
    "csharp": "C#", "c sharp": "C#",
    "node": "Node.js", "nodejs": "Node.js", "node js": "Node.js",
    "reactjs": "React", "react.js": "React", "react js": "React",
    "vue": "Vue.js", "vuejs": "Vue.js", "vue js": "Vue.js",
    "nextjs": "Next.js", "next js": "Next.js",
    "postgres": "PostgreSQL", "postgresql": "PostgreSQL", "psql": "PostgreSQL",
    "mongo": "MongoDB",
    "k8s": "Kubernetes",
    "sklearn": "scikit-learn", "scikit learn": "scikit-learn",
    "torch": "PyTorch",
    "rails": "Ruby on Rails", "ror": "Ruby on Rails",
    "dotnet": ".NET", ".net core": ".NET", "dotnet core": ".NET",
    "express.js": "Express", "expressjs": "Express",
    "nest.js": "NestJS",
    "springboot": "Spring Boot",
    "oauth2": "OAuth", "oauth 2": "OAuth", "oauth2.0": "OAuth",
    "json web token": "JWT", "json web tokens": "JWT", "jwts": "JWT",
    "restful": "REST", "rest api": "REST", "rest apis": "REST", "restful api": "REST",
    "restful apis": "REST",
    "amazon web services": "AWS", "google cloud": "GCP", "google cloud platform": "GCP",
    "microsoft azure": "Azure",
    "tailwind": "Tailwind CSS", "tailwindcss": "Tailwind CSS",
    "elastic search": "Elasticsearch",
    "websocket": "WebSockets", "web sockets": "WebSockets",
    "microservice": "Microservices", "micro-services": "Microservices",
    "shell script": "Bash", "bash scripting": "Bash",
    "ci cd": "CI/CD", "cicd": "CI/CD", "ci/cd pipelines": "CI/CD",
}

_LOOKUP: dict[str, str] = {name.casefold(): name for name in _CANONICAL}
_LOOKUP.update(_ALIASES)
#: Every spelling :func:`normalize_skill` knows (casefolded) -> its canonical name.
SKILL_SPELLINGS: Mapping[str, str] = MappingProxyType(_LOOKUP)

# "Python 3.11", "Django v4.2", "OAuth 2.0", "Java 17+": a version after whitespace.
_SPACED_VERSION = re.compile(r"^(?P<base>.*?\S)\s+v?\d+(?:\.(?:\d+|x))*\+?$", re.IGNORECASE)
# "python3", "vue3": a version glued on; only stripped when the base is a known name, because
# "S3", "EC2" and "Web3" are names in their own right.
_GLUED_VERSION = re.compile(r"^(?P<base>.*?[^\d\s.])v?\d+(?:\.(?:\d+|x))*\+?$", re.IGNORECASE)


def normalize_skill(name: str) -> str:
    """One canonical spelling for a skill, language or framework name; unknown names keep their
    spelling (trimmed, inner whitespace collapsed)."""
    clean = " ".join(name.split())
    known = _LOOKUP.get(clean.casefold())
    if known:
        return known
    spaced = _SPACED_VERSION.match(clean)
    if spaced:
        base = spaced["base"]
        return _LOOKUP.get(base.casefold(), base)
    glued = _GLUED_VERSION.match(clean)
    if glued and glued["base"].casefold() in _LOOKUP:
        return _LOOKUP[glued["base"].casefold()]
    return clean


def _normalize_list(names: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = normalize_skill(raw)
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            out.append(name)
    return out


def _normalize_value(value: Any, marked: bool) -> Any:
    if isinstance(value, BaseModel):
        return _normalize_model(value)
    if isinstance(value, list):
        if marked and all(isinstance(v, str) for v in value):
            return _normalize_list(value)
        return [_normalize_value(v, False) for v in value]
    if marked and isinstance(value, str):
        return normalize_skill(value)
    return value


def _normalize_model(model: BaseModel) -> BaseModel:
    update: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        marked = any(m is SKILL_NAMES for m in info.metadata)
        new = _normalize_value(value, marked)
        if new is not value and new != value:
            update[name] = new
    return model.model_copy(update=update) if update else model


def normalize_skills(result: AnalysisResult, request: AnalysisRequest) -> AnalysisResult:
    """The ``normalize_skills`` post-processor: every field marked with :data:`SKILL_NAMES`
    (at any depth) gets canonical names, duplicates removed, first occurrence kept."""
    out = _normalize_model(result)
    return out  # type: ignore[return-value]  # model_copy keeps the concrete class


def builtin_postprocessors() -> list[PostProcessor]:
    """The post-processors the core registers through its own plugin."""
    return [
        PostProcessor(
            name="normalize_skills",
            process=normalize_skills,
            description='one spelling per skill/framework name ("python", "Python 3" -> '
                        '"Python"), duplicates removed',
        )
    ]
