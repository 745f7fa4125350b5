"""Grounding: claims whose evidence is not in the content are dropped, for every provider."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from aexy import LLMGateway
from aexy.analysis import AnalysisResult
from aexy.catalogue.code import CodeQuality, SkillExtraction
from aexy.grounding import LINE, QUOTE, BackedBy, Evidence, ground, has_claims, mentions
from aexy.testing import FakeProvider

CODE = ("import requests\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "def fetch(url: str) -> str:\n    return requests.get(url).text\n")


def _skills(**kw: Any) -> SkillExtraction:
    base: dict[str, Any] = {"language": "Python", "complexity": 3}
    return SkillExtraction.model_validate({**base, **kw})


def test_a_library_whose_import_line_is_not_in_the_content_is_dropped() -> None:
    answer = _skills(libraries=[
        {"name": "requests", "evidence": "import requests"},
        {"name": "sqlalchemy", "evidence": "from sqlalchemy import orm"},  # invented
        {"name": "django", "evidence": "import requests"},  # a real line naming another
    ], frameworks=["Requests", "FastAPI", "SQLAlchemy", "Django"])
    grounded, dropped = ground(answer, CODE)
    assert [lib.name for lib in grounded.libraries] == ["requests"]
    # FastAPI has no surviving library behind it, nor do the invented ones
    assert grounded.frameworks == ["Requests"]
    assert dropped == 2 + 3


def test_quotes_match_across_whitespace_and_elisions_but_not_fragments() -> None:
    evidence = Evidence(CODE)
    assert evidence.has_quote("def fetch(url: str)   -> str:")
    assert evidence.has_quote("from fastapi ... FastAPI")
    assert evidence.has_quote("`import requests`")
    assert not evidence.has_quote("ab")  # too short to prove anything
    assert not evidence.has_quote("import redux")
    assert evidence.has_line(8) and not evidence.has_line(9) and not evidence.has_line(0)


def test_strengths_and_issues_need_a_line_in_range_or_a_quote_in_the_content() -> None:
    answer = CodeQuality.model_validate({
        "score": 7, "summary": "ok", "suggestions": [],
        "strengths": [
            {"description": "typed", "line": 7, "evidence": None},
            {"description": "tests", "line": None, "evidence": "def test_fetch():"},  # absent
            {"description": "generic praise", "line": None, "evidence": None},  # nothing
            "plain text strength",  # the old shape: no evidence
        ],
        "issues": [
            {"severity": "low", "category": "style", "description": "x", "line": 400},
            {"severity": "high", "category": "bug", "description": "no timeout", "line": 8,
             "evidence": "requests.get(url)"},
        ],
    })
    grounded, dropped = ground(answer, CODE)
    assert [s.description for s in grounded.strengths] == ["typed"]
    assert [i.description for i in grounded.issues] == ["no timeout"]
    assert dropped == 4


def test_models_without_claims_are_returned_untouched() -> None:
    class Plain(AnalysisResult):
        summary: str

    result = Plain(summary="x")
    assert not has_claims(Plain)
    assert ground(result, "anything") == (result, 0)


def test_plugin_models_opt_in_with_the_markers() -> None:
    class Finding(BaseModel):
        text: str
        quote: Annotated[str | None, QUOTE] = None
        line: Annotated[int | None, LINE] = None

    class Tags(AnalysisResult):
        findings: list[Finding]
        tags: Annotated[list[str], BackedBy("findings")]

    result = Tags(findings=[Finding(text="a", quote="app = FastAPI()"),
                            Finding(text="b", quote="app = Flask()")],
                  tags=["FastAPI", "Flask"])
    grounded, dropped = ground(result, CODE)
    assert [f.text for f in grounded.findings] == ["a"] and grounded.tags == ["FastAPI"]
    assert dropped == 2


@pytest.mark.parametrize(("evidence", "name", "expected"), [
    ("import jwt", "PyJWT", True),
    ("from sklearn import svm", "scikit-learn", True),
    ('import "google.golang.org/protobuf/proto"', "Protocol Buffers (protobuf)", True),
    ("import json", "FastAPI", False),
    ("use serde::Serialize;", "Tokio", False),
])
def test_mentions(evidence: str, name: str, expected: bool) -> None:
    assert mentions(evidence, name) is expected


async def test_the_gateway_grounds_every_answer_and_counts_the_drops_in_provenance() -> None:
    answer = {"language": "Python", "complexity": 3, "patterns": [], "domains": ["payments"],
              "libraries": [{"name": "requests", "evidence": "import requests"},
                            {"name": "react", "evidence": "import React from 'react'"}],
              "frameworks": ["Requests", "React", "PostgreSQL"],
              "quality_indicators": [{"name": "tests", "line": None,
                                      "evidence": "def test_fetch():"}],
              "confidence": 0.9}
    provider = FakeProvider(replies=[json.dumps(answer)])
    async with LLMGateway(provider=provider, fallbacks=(), cache=False) as gateway:
        result: Any = await gateway.analyze("skill_extraction", CODE)
    assert [lib.name for lib in result.libraries] == ["requests"]
    assert result.frameworks == ["Requests"]
    assert result.quality_indicators == []
    assert result.provenance.ungrounded_dropped == 1 + 2 + 1


async def test_every_offline_answer_is_fully_grounded() -> None:
    from aexy.eval import load_cases

    async with LLMGateway("offline", fallbacks=(), cache=False) as gateway:
        for case in load_cases("dev", kinds=("code", "injection", "planted"))[:60]:
            for kind in ("skill_extraction", "code_quality"):
                result = await gateway.analyze(kind, case.content, {"file_path": case.path})
                assert result.provenance.ungrounded_dropped == 0, (case.path, kind)


def test_an_import_quoted_from_a_comment_is_no_evidence_of_a_library() -> None:
    code = "# import fastapi\nimport requests  # and then fastapi\n"
    answer = _skills(libraries=[{"name": "fastapi", "evidence": "import fastapi"},
                                {"name": "requests", "evidence": "import requests"}],
                     frameworks=["FastAPI", "Requests"])
    grounded, dropped = ground(answer, code, "app.py")
    assert [lib.name for lib in grounded.libraries] == ["requests"]
    assert grounded.frameworks == ["Requests"] and dropped == 2
    js = "// import { createStore } from 'redux';\nimport axios from 'axios';\n"
    answer = _skills(libraries=[{"name": "redux", "evidence": "import { createStore } from "
                                                              "'redux';"}])
    assert ground(answer, js, None)[1] == 1  # no file name: neither comment syntax counts
