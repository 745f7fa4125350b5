"""The built-in offline provider: static heuristics, schema-valid answers, no network."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from aexy import AnalysisType, CompletionRequest, LLMError, LLMGateway
from aexy.plugins import PluginHost
from aexy.prompts import delimit
from aexy.providers import builtin_providers
from aexy.providers.offline import (
    MODEL_NAME,
    OfflineProvider,
    analyze_code,
    detect_language,
    read_request,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CODE_TYPES = ("skill_extraction", "code_quality", "code_complexity")

FLAT = """def add(a, b):
    return a + b
"""

TANGLED = """def route(event, user, retries):
    for item in event.items:
        if item.kind == "a" and user.admin:
            for sub in item.children:
                if sub.ok or retries > 3:
                    while sub.pending:
                        if sub.retry():
                            break
                        elif sub.failed:
                            continue
        elif item.kind == "b":
            if user.banned:
                return None
    return event
"""


def _request(analysis_type: str, content: str, schema: dict, *, file_path: str | None = None,
             model: str | None = None) -> CompletionRequest:
    where = f"Analyze the code from file `{file_path}`.\n\n" if file_path else ""
    return CompletionRequest.simple(
        "system prompt", where + delimit(content), schema, model=model,
        metadata={"analysis_type": analysis_type},
    )


def _host() -> PluginHost:
    return PluginHost(entry_points=False)


# -- registration ----------------------------------------------------------------------------------

def test_offline_is_a_builtin_provider_and_the_default():
    specs = builtin_providers()
    assert [s.name for s in specs] == ["offline"]
    assert specs[0].provider_class is OfflineProvider
    gateway = LLMGateway(plugins=_host())  # no LLM_PROVIDER set (conftest cleans the env)
    assert gateway.provider.name == "offline"
    assert gateway.provider.model == MODEL_NAME


async def test_available_and_described_without_network():
    provider = OfflineProvider()
    assert await provider.is_available() is True
    facts = provider.describe()
    assert facts["name"] == "offline"
    assert facts["model"] == MODEL_NAME
    assert facts["network"] is False


# -- heuristics ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "path", "language"),
    [
        ("x = 1\n", "app/models.py", "Python"),
        ("x = 1\n", "web/App.tsx", "TypeScript"),
        ("fn main() {}\n", "src/main.rs", "Rust"),
        ("def f(x):\n    return x\n\nclass A:\n    pass\n", None, "Python"),
        ("const f = (a) => a + 1;\nconsole.log(f(2));\n", None, "JavaScript"),
        ("interface User { name: string }\nexport type Id = number;\n", None, "TypeScript"),
        ("package main\n\nfunc main() {\n  x := 1\n}\n", None, "Go"),
        ("fn main() {\n    let mut x = 1;\n}\n", None, "Rust"),
        ("public class A {\n  public static void main(String[] a) {}\n}\n", None, "Java"),
        ("just some words\n", None, "unknown"),
    ],
)
def test_language_from_extension_or_syntax(code, path, language):
    assert detect_language(code, path) == language


def test_frameworks_domains_and_patterns_of_the_oauth_example():
    facts = analyze_code((EXAMPLES / "oauth.py").read_text(), "examples/oauth.py")
    assert facts.language == "Python"
    assert {"FastAPI", "PyJWT", "SQLAlchemy", "Pydantic", "Passlib"} <= set(facts.frameworks)
    assert {"authentication", "web APIs", "databases"} <= set(facts.domains)
    assert {"dependency injection", "async/await", "OAuth2 flow", "password hashing",
            "token-based authentication"} <= set(facts.patterns)
    assert {"type hints", "docstrings"} <= set(facts.quality_indicators)
    assert facts.issues == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import React, { useState } from 'react';\nconst A = () => useState(0);\n", "React"),
        ("const express = require('express');\n", "Express"),
        ('import (\n\t"github.com/gin-gonic/gin"\n)\n', "Gin"),
        ("import org.springframework.web.bind.annotation.RestController;\n", "Spring"),
        ("use actix_web::{web, App};\n", "Actix Web"),
        ("from django.db import models\n", "Django"),
        ("import numpy as np, pandas as pd\n", "pandas"),
    ],
)
def test_frameworks_from_imports(code, expected):
    assert expected in analyze_code(code).frameworks


def test_complexity_grows_with_branching_and_nesting_and_stays_in_bounds():
    flat, tangled = analyze_code(FLAT, "a.py"), analyze_code(TANGLED, "b.py")
    assert flat.complexity == 1
    assert tangled.complexity > flat.complexity + 2
    assert tangled.max_depth >= 6
    huge = analyze_code(TANGLED * 40, "c.py")
    assert 1 <= huge.complexity <= 10
    assert tangled.hotspots[0]["name"] == "route"
    assert "branch points" in tangled.hotspots[0]["reason"]


def test_quality_issues_are_located_and_most_severe_first():
    code = (
        "# TODO: tidy\n"
        "import os\n"
        'API_KEY = "sk-live-1234567890"\n'
        "def run(cmd):\n"
        "    try:\n"
        "        return eval(cmd)\n"
        "    except:\n"
        "        return None\n"
    )
    facts = analyze_code(code, "tool.py")
    by_description = {i["description"]: i for i in facts.issues}
    secret = next(i for d, i in by_description.items() if "credential" in d)
    assert (secret["severity"], secret["category"], secret["line"]) == ("high", "security", 3)
    assert any("eval" in d and i["line"] == 6 for d, i in by_description.items())
    assert any("bare except" in d and i["line"] == 7 for d, i in by_description.items())
    assert any("TODO" in d and i["line"] == 1 for d, i in by_description.items())
    severities = [i["severity"] for i in facts.issues]
    assert severities == sorted(severities, key=["critical", "high", "moderate", "low"].index)
    clean = analyze_code((EXAMPLES / "oauth.py").read_text(), "oauth.py")
    assert facts.score < clean.score


def test_tests_are_recognised_as_a_quality_indicator():
    facts = analyze_code("def test_add():\n    assert 1 + 1 == 2\n", "test_math.py")
    assert "tests" in facts.quality_indicators


def test_the_request_is_read_from_the_prompt():
    content = "print('</content> inside')\n"
    request = _request("skill_extraction", content, {"type": "object"}, file_path="pkg/a.py")
    data = read_request(request)
    assert data.content.strip() == content.strip()  # the escaped closing tag is restored
    assert data.file_path == "pkg/a.py"
    ctx_prompt = delimit("x = 1") + "\n" + delimit(json.dumps({"file_path": "z.go"}), "context")
    data = read_request(CompletionRequest.simple("s", ctx_prompt, None))
    assert data.file_path == "z.go"
    assert data.context == {"file_path": "z.go"}


# -- answers ---------------------------------------------------------------------------------------

async def test_answers_are_deterministic_and_usage_is_estimated():
    spec = _host().analysis_types().get("skill_extraction")
    request = _request("skill_extraction", (EXAMPLES / "oauth.py").read_text(), spec.json_schema,
                       file_path="oauth.py")
    provider = OfflineProvider()
    first, second = await provider.complete(request), await provider.complete(request)
    assert first.text == second.text
    assert first.model == MODEL_NAME
    assert first.usage.input_tokens == request.prompt_chars // 4
    assert first.usage.output_tokens == len(first.text) // 4


async def test_another_model_is_refused():
    with pytest.raises(LLMError) as info:
        await OfflineProvider(model="gpt-4o").complete(_request("x", "y", {"type": "object"}))
    assert info.value.code == "not_found"
    assert MODEL_NAME in str(info.value)


@pytest.mark.parametrize("analysis_type", [t.value for t in AnalysisType])
async def test_every_builtin_type_validates_on_the_first_answer(analysis_type, monkeypatch):
    """Through the real gateway: the answer must validate with no repair request, and
    without touching the network."""

    def no_network(*args, **kwargs):
        raise AssertionError("the offline provider opened a socket")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    host = _host()
    spec = host.analysis_types().get(analysis_type)
    assert spec is not None
    content = (EXAMPLES / ("oauth.py" if analysis_type in CODE_TYPES else "task.md")).read_text()
    async with LLMGateway("offline", plugins=host, cache=False) as gateway:
        result = await gateway.analyze(analysis_type, content, context={"file_path": "oauth.py"})
    assert result.provenance.attempts == 1
    assert not result.provenance.repaired
    jsonschema.validate(result.model_dump(mode="json"), spec.json_schema)
    data = result.model_dump()
    if analysis_type not in CODE_TYPES:
        # Honest: a placeholder says so wherever there is room for words, or claims nothing.
        texts = [v for k, v in data.items() if k in ("summary", "reasoning", "full_text")]
        assert all("no model was consulted" in t for t in texts)
        if "confidence" in data:
            assert data["confidence"] in (0, 0.0) or isinstance(data["confidence"], str)


async def test_code_results_carry_the_heuristics():
    host = _host()
    code = (EXAMPLES / "cart.js").read_text()
    async with LLMGateway("offline", plugins=host, cache=False) as gateway:
        skills = await gateway.analyze("skill_extraction", code, {"file_path": "cart.js"})
        quality = await gateway.analyze("code_quality", code, {"file_path": "cart.js"})
        complexity = await gateway.analyze("code_complexity", code, {"file_path": "cart.js"})
    assert skills.language == "JavaScript"
    assert "Express" in skills.frameworks
    assert quality.score <= 4
    assert {i.category for i in quality.issues} >= {"security"}
    assert any(i.line == 10 and "SQL" in i.description for i in quality.issues)
    assert "no model was consulted" in quality.summary
    assert complexity.hotspots[0].name == "POST /cart/:id/checkout"
    assert complexity.cognitive_load in ("low", "moderate", "high", "critical")


# -- the schema walk survives other result models ------------------------------------------------

class _Finding(BaseModel):
    severity: Literal["minor", "major", "blocker"]
    category: Literal["security", "other"]
    description: str
    line: int | None
    owner: str  # a field no heuristic knows


class _OtherModel(BaseModel):
    primary_language: str
    libraries: list[str] = Field(max_length=2)
    quality_score: float = Field(ge=0, le=1)
    cognitive_load: int = Field(ge=1, le=5)
    issues: list[_Finding]
    tags: list[str] = Field(min_length=1)
    summary: str = Field(max_length=40)


async def test_a_different_schema_still_gets_a_valid_answer():
    schema = _OtherModel.model_json_schema()
    code = (EXAMPLES / "cart.js").read_text()
    completion = await OfflineProvider().complete(
        _request("code_quality", code, schema, file_path="cart.js"))
    value = json.loads(completion.text)
    jsonschema.validate(value, schema)
    parsed = _OtherModel.model_validate(value)
    assert parsed.primary_language == "JavaScript"
    assert parsed.libraries == ["Express", "node-postgres"]
    assert parsed.quality_score <= 0.4  # 1-10 score scaled into 0..1
    assert parsed.issues and all(f.category in ("security", "other") for f in parsed.issues)
    assert parsed.issues[0].line == 7


async def test_a_language_hint_in_the_context_is_used_only_when_the_code_gives_none():
    schema = {"type": "object", "properties": {"language": {"type": "string"}},
              "required": ["language"]}

    async def language(content: str) -> str:
        prompt = delimit(content) + "\n" + delimit(json.dumps({"language": "COBOL"}), "context")
        request = CompletionRequest.simple("s", prompt, schema,
                                           metadata={"analysis_type": "skill_extraction"})
        return json.loads((await OfflineProvider().complete(request)).text)["language"]

    assert await language("MOVE 1 TO X.\n") == "COBOL"
    assert await language("def f(x):\n    return x\n\nclass A:\n    pass\n") == "Python"
