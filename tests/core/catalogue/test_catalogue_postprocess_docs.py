"""The built-in ``normalize_skills`` post-processor, and the generated analysis-types page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from tools import docgen

from aexy.analysis import AnalysisRequest, AnalysisResult
from aexy.catalogue import builtin_specs
from aexy.catalogue.career import JobDescription
from aexy.plugins import PluginHost
from aexy.postprocess import SKILL_NAMES, normalize_skill, normalize_skills

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "analysis-types.md"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("python", "Python"), ("Python 3", "Python"), ("python3", "Python"), ("py", "Python"),
     ("Python 3.11", "Python"), ("  fastapi ", "FastAPI"), ("Django v4.2", "Django"),
     ("golang", "Go"), ("k8s", "Kubernetes"), ("node.js", "Node.js"), ("NodeJS", "Node.js"),
     ("postgres", "PostgreSQL"), ("OAuth 2.0", "OAuth"), ("oauth2", "OAuth"), ("vue3", "Vue.js"),
     ("C++17", "C++"), ("c++", "C++"), ("c#", "C#"), ("Java 17+", "Java"),
     # names with digits in them are not versions
     ("S3", "S3"), ("EC2", "EC2"), ("Web3", "Web3"), ("Base64", "Base64"),
     # unknown names keep their spelling, whitespace tidied
     ("event   sourcing", "event sourcing"), ("Temporal", "Temporal")],
)
def test_normalize_skill(raw: str, canonical: str) -> None:
    assert normalize_skill(raw) == canonical


def _request() -> AnalysisRequest:
    return AnalysisRequest.create("job_description", "x", {}, max_content_chars=100)


def test_normalize_skills_reaches_nested_marked_fields_and_dedupes() -> None:
    jd = JobDescription.model_validate({
        "role_title": "Python dev", "level": "senior", "summary": "s", "full_text": "python",
        "must_have_skills": [{"skill": "python 3", "level": "advanced", "reasoning": "python"}],
        "nice_to_have_skills": ["k8s", "Kubernetes", "postgres", "Postgres 15", "Temporal"],
    })
    out: Any = normalize_skills(jd, _request())
    assert type(out) is JobDescription
    assert out.must_have_skills[0].skill == "Python"
    assert out.must_have_skills[0].reasoning == "python"  # unmarked text untouched
    assert out.nice_to_have_skills == ["Kubernetes", "PostgreSQL", "Temporal"]
    assert out.role_title == "Python dev" and out.full_text == "python"
    assert jd.nice_to_have_skills[0] == "k8s"  # the input is not mutated


def test_plugin_models_opt_in_with_the_marker() -> None:
    class Tools(AnalysisResult):
        tools: Annotated[list[str], SKILL_NAMES]
        notes: list[str]

    out: Any = normalize_skills(Tools(tools=["js", "JavaScript"], notes=["js"]), _request())
    assert out.tools == ["JavaScript"] and out.notes == ["js"]


def test_unchanged_result_is_returned_as_is() -> None:
    jd = JobDescription.model_validate({"role_title": "r", "level": "mid", "summary": "s",
                                        "full_text": "t", "nice_to_have_skills": ["Python"]})
    assert normalize_skills(jd, _request()) is jd


def test_normalize_skills_is_registered(host: PluginHost) -> None:
    pp = host.postprocessors().get("normalize_skills")
    assert pp is not None and pp.process is normalize_skills and pp.description


def test_docs_page_matches_the_models() -> None:
    assert DOC.read_text(encoding="utf-8") == docgen.render(), (
        "docs/analysis-types.md is stale: run "
        "`python tools/docgen.py --write docs/analysis-types.md`")


def test_docs_page_lists_every_type_field_and_context_key() -> None:
    page = docgen.render()
    for spec in builtin_specs():
        section = page.split(f"\n## {spec.name}\n", 1)[1].split("\n## ", 1)[0]
        for field in spec.result_model.model_fields:
            assert f"| `{field}` |" in section, (spec.name, field)
        for key in spec.context_keys:
            assert f"| `{key}` |" in section, (spec.name, key)
    assert "Property `.skills`" in page


def test_docgen_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "page.md"
    assert docgen.main(["--check", str(target)]) == 1
    assert "stale" in capsys.readouterr().err
    assert docgen.main(["--write", str(target)]) == 0
    assert docgen.main(["--check", str(target)]) == 0
