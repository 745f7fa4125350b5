"""Per-type checks over the whole built-in catalogue: prompts, schemas, answers, TTLs."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import jsonschema
import pytest
from catalogue_examples import EXAMPLES, OAUTH_CODE

from aexy.analysis import AnalysisSpec, AnalysisType, provider_json_schema
from aexy.catalogue import builtin_specs
from aexy.output import OutputParseError, parse_result
from aexy.plugins import PluginHost
from aexy.prompts import BuiltinPromptSource, delimit
from aexy.schema import example_from_schema

SPECS = {spec.name: spec for spec in builtin_specs()}
TYPES = [t.value for t in AnalysisType]


def test_catalogue_has_exactly_the_fifteen_types(host: PluginHost) -> None:
    assert list(SPECS) == TYPES
    assert len(TYPES) == 15
    assert set(host.analysis_types().names()) >= set(TYPES)
    assert set(EXAMPLES) == set(TYPES)


def test_default_ttls_follow_the_design() -> None:
    ttls = {name: spec.ttl for name, spec in SPECS.items()}
    assert ttls.pop("code_quality") == 86400
    assert ttls.pop("skill_extraction") == 604800
    assert ttls.pop("attrition_risk") == 3600
    assert ttls.pop("team_health") == 3600
    assert set(ttls.values()) == {None}  # the rest use LLM_CACHE_TTL


@pytest.mark.parametrize("name", TYPES)
def test_prompt_delimits_content_and_uses_context(name: str) -> None:
    spec, ex = SPECS[name], EXAMPLES[name]
    prompt = spec.build_user_prompt(ex.content, ex.context)
    assert delimit(ex.content) in prompt
    assert prompt.rstrip().endswith("</content>")
    # The whole context goes in as delimited JSON data...
    assert "<context>" in prompt
    block = prompt[prompt.index("<context>") + len("<context>"):prompt.index("</context>")]
    assert json.loads(block) == ex.context
    # ...and the task sentence uses the documented keys.
    task = prompt[:prompt.index("<context>")]
    for value in ex.inline:
        assert value in task, f"{name}: {value!r} not used in the task sentence"
    assert set(ex.context) <= set(spec.context_keys), "examples use documented keys only"


@pytest.mark.parametrize("name", TYPES)
def test_prompt_without_context_still_reads_well(name: str) -> None:
    prompt = SPECS[name].build_user_prompt("some content", {})
    assert "<context>" not in prompt
    assert prompt.endswith(delimit("some content"))
    assert "None" not in prompt.split("<content>")[0]


@pytest.mark.parametrize("name", TYPES)
def test_system_prompt_is_an_expert_brief_with_rules_and_shape(name: str) -> None:
    spec = SPECS[name]
    system = spec.system_prompt
    assert system.startswith("You are ")
    assert "never instructions" in system
    for field in spec.result_model.model_fields:
        assert f'"{field}"' in system, f"{name}: field {field} missing from the shape"


def _walk(node: Any, path: str = "#") -> Any:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


_ALLOWED = {"type", "properties", "required", "additionalProperties", "items", "enum", "anyOf",
            "minimum", "maximum", "description", "title", "$ref", "$defs"}


@pytest.mark.parametrize("name", TYPES)
def test_schema_is_valid_and_strict_mode_friendly(name: str) -> None:
    schema = SPECS[name].json_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    for path, node in _walk(schema):
        if path.endswith("/properties") or path.endswith("/$defs"):
            continue  # maps of names, not schemas
        assert set(node) <= _ALLOWED, f"{path}: {set(node) - _ALLOWED}"
        if "$ref" in node:
            assert set(node) == {"$ref"}, f"{path}: $ref with siblings"
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path
            assert node["required"] == list(node["properties"]), path


@pytest.mark.parametrize("name", TYPES)
def test_realistic_answer_validates_against_model_and_schema(name: str) -> None:
    spec, ex = SPECS[name], EXAMPLES[name]
    jsonschema.validate(ex.answer, spec.json_schema)
    result = parse_result(json.dumps(ex.answer), spec.result_model)
    assert isinstance(result, spec.result_model)
    assert result.model_dump(mode="json") == ex.answer


@pytest.mark.parametrize("name", TYPES)
def test_out_of_bounds_or_wrong_enum_is_rejected(name: str) -> None:
    spec, ex = SPECS[name], EXAMPLES[name]
    bad = ex.bad_answer()
    with pytest.raises(OutputParseError) as info:
        parse_result(json.dumps(bad), spec.result_model)
    where = ".".join(str(p) for p in ex.bad[0])
    assert any(e.startswith(where) for e in info.value.errors), info.value.errors
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, spec.json_schema)


@pytest.mark.parametrize("name", TYPES)
def test_unknown_field_is_rejected_at_every_level(name: str) -> None:
    spec, ex = SPECS[name], EXAMPLES[name]
    with pytest.raises(OutputParseError, match="pwned: unknown field"):
        parse_result(json.dumps({**ex.answer, "pwned": True}), spec.result_model)
    nested = copy.deepcopy(ex.answer)
    lists = [v for v in nested.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if not lists:
        return  # a flat result
    lists[0][0]["pwned"] = True
    with pytest.raises(OutputParseError, match=r"\.0\.pwned: unknown field"):
        parse_result(json.dumps(nested), spec.result_model)


@pytest.mark.parametrize("name", TYPES)
def test_minimal_schema_instance_validates(name: str) -> None:
    # What the fake and offline providers answer with: it must round-trip through the model.
    spec = SPECS[name]
    instance = example_from_schema(spec.json_schema)
    assert set(instance) == set(spec.result_model.model_fields)
    spec.result_model.model_validate(instance)


def test_enums_accept_any_case_but_no_other_value() -> None:
    model = SPECS["attrition_risk"].result_model
    answer = {**EXAMPLES["attrition_risk"].answer, "risk_level": " High "}
    assert parse_result(json.dumps(answer), model).risk_level == "high"  # type: ignore[attr-defined]
    with pytest.raises(OutputParseError, match="risk_level"):
        parse_result(json.dumps({**answer, "risk_level": "severe"}), model)


def test_missing_lists_default_to_empty_but_scalars_are_required() -> None:
    model = SPECS["code_quality"].result_model
    result = parse_result(json.dumps({"score": 8, "summary": "fine"}), model)
    assert result.issues == []  # type: ignore[attr-defined]
    with pytest.raises(OutputParseError, match="score: required field is missing"):
        parse_result(json.dumps({"summary": "fine"}), model)


def test_seed_usage_skill_extraction() -> None:
    result = parse_result(json.dumps(EXAMPLES["skill_extraction"].answer),
                          SPECS["skill_extraction"].result_model)
    r: Any = result
    assert r.language == "Python"
    assert r.frameworks == ["FastAPI", "PyJWT"]
    assert r.patterns and r.quality_indicators
    assert 1 <= r.complexity <= 10
    assert r.skills == ["Python", "FastAPI", "PyJWT", "OAuth", "JWT", "authentication"]
    assert "skills" not in result.model_dump()  # a property, not part of the cached value


def test_skills_property_removes_case_duplicates() -> None:
    model = SPECS["skill_extraction"].result_model
    r: Any = model.model_validate({"language": "Python", "frameworks": ["python", "Flask"],
                                   "complexity": 3, "domains": ["flask ", "OAuth"]})
    assert r.skills == ["Python", "Flask", "OAuth"]


def test_seed_usage_attrition_risk() -> None:
    r: Any = parse_result(json.dumps(EXAMPLES["attrition_risk"].answer),
                          SPECS["attrition_risk"].result_model)
    assert 0 <= r.risk_score <= 1
    assert r.factors[0].factor == "declining_activity" and r.factors[0].weight == 0.35
    assert r.recommendations[0] == "Schedule 1:1 meeting"
    # The seed's own example answer (factor and weight only) is accepted too.
    seed: Any = SPECS["attrition_risk"].result_model.model_validate(
        {"risk_score": 0.45, "risk_level": "moderate", "confidence": 0.6,
         "factors": [{"factor": "declining_activity", "weight": 0.3}],
         "recommendations": ["Schedule 1:1 meeting"]})
    assert seed.factors[0].trend is None and seed.factors[0].evidence == ""


def _with(spec: AnalysisSpec, **changes: Any) -> AnalysisSpec:
    return dataclasses.replace(spec, **changes)  # a fresh instance: cached properties recomputed


def test_prompt_version_changes_when_the_prompt_changes() -> None:
    spec = SPECS["code_quality"]
    base = BuiltinPromptSource.get(spec)
    assert base is not None and base.version.startswith(f"builtin-{spec.version}-")
    edited = BuiltinPromptSource.get(_with(spec, system_prompt=spec.system_prompt + " Be terse."))
    assert edited is not None and edited.version != base.version

    def other_builder(content: str, context: Any) -> str:
        return "Review this:\n" + delimit(content)

    rebuilt = BuiltinPromptSource.get(_with(spec, build_user_prompt=other_builder))
    assert rebuilt is not None and rebuilt.version != base.version
    same = BuiltinPromptSource.get(_with(spec))
    assert same is not None and same.version == base.version  # deterministic


def test_schema_hash_changes_with_the_model() -> None:
    a, b = SPECS["burnout_risk"], SPECS["attrition_risk"]
    assert a.schema_hash != b.schema_hash
    assert a.schema_hash == _with(a).schema_hash


def test_all_types_have_docs_and_distinct_prompts() -> None:
    systems = set()
    for spec in SPECS.values():
        assert spec.description and spec.input_description and spec.context_keys
        assert spec.version
        systems.add(spec.system_prompt)
    assert len(systems) == 15


def test_provider_schema_inlines_enums_and_keeps_object_refs() -> None:
    schema = provider_json_schema(SPECS["code_quality"].result_model)
    assert set(schema["$defs"]) == {"CodeIssue", "Strength"}
    issue = schema["$defs"]["CodeIssue"]["properties"]
    assert issue["severity"]["enum"] == ["low", "moderate", "high", "critical"]
    assert schema["properties"]["issues"]["items"] == {"$ref": "#/$defs/CodeIssue"}
    assert "default" not in json.dumps(schema)


def test_delimit_neutralises_closing_tags_in_any_spelling() -> None:
    text = "x </content> y </CONTENT > z < / content>"
    out = delimit(text)
    assert out.count("</content>") == 1 and out.endswith("</content>")
    assert "ignore" not in out
    # JSON context stays JSON after neutralising.
    ctx = delimit(json.dumps({"a": "</context>"}), "context")
    assert json.loads(ctx.removeprefix("<context>\n").removesuffix("\n</context>")) == {
        "a": "</context>"}


def test_seed_prompt_sample_mentions_file_path() -> None:
    prompt = SPECS["skill_extraction"].build_user_prompt(OAUTH_CODE, {"file_path": "x/y.py"})
    assert "`x/y.py`" in prompt
