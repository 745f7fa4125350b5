"""Finding and validating JSON in model answers (aexy.output)."""

from __future__ import annotations

import json

import pytest
from catalogue_examples import EXAMPLES

from aexy.catalogue.code import SkillExtraction
from aexy.catalogue.predictive import AttritionRisk
from aexy.output import OutputParseError, extract_json, parse_result, repair_instructions

ANSWER = EXAMPLES["skill_extraction"].answer
TEXT = json.dumps(ANSWER, indent=2)


@pytest.mark.parametrize(
    "wrapped",
    [
        TEXT,
        f"```json\n{TEXT}\n```",
        f"```\n{TEXT}\n```",
        f"```JSON {TEXT}```",
        f"Here is the analysis you asked for:\n\n{TEXT}\n\nLet me know if you need more.",
        f"Sure! ```json\n{TEXT}\n``` Hope this helps.",
        f"\ufeff{TEXT}",
        f"<think>The user wants {{skills}}; maybe {{\"a\": 1}}.</think>\n{TEXT}",
        json.dumps({"result": ANSWER}),
        json.dumps([ANSWER]),
    ],
    ids=["plain", "fenced-json", "fenced-bare", "fenced-inline", "prose", "prose-and-fence",
         "bom", "think-block", "wrapper-key", "array-of-one"],
)
def test_answer_is_found_however_it_is_wrapped(wrapped: str) -> None:
    result = parse_result(wrapped, SkillExtraction)
    assert result.language == "Python" and result.skills[:2] == ["Python", "FastAPI"]


def test_an_example_object_before_the_answer_does_not_win() -> None:
    text = ('The format is {"language": "...", "complexity": "1-10"}. My answer:\n'
            + json.dumps(ANSWER))
    assert parse_result(text, SkillExtraction).complexity == 7


def test_braces_in_prose_are_skipped() -> None:
    text = "Looking at {file} and {a: b} I found:\n" + json.dumps(ANSWER) + "\n{done}"
    assert parse_result(text, SkillExtraction).frameworks == ["FastAPI", "PyJWT"]


def test_errors_come_from_the_most_plausible_candidate() -> None:
    bad = {**ANSWER, "complexity": 42}
    text = 'Note {"x": 1}. Result: ' + json.dumps(bad)
    with pytest.raises(OutputParseError) as info:
        parse_result(text, SkillExtraction)
    assert info.value.errors == ["complexity: Input should be less than or equal to 10 (got 42)"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the answer is empty"), ("   \n", "the answer is empty"),
     ("I cannot help with that.", "no JSON object"), ("[1, 2, 3]", "no JSON object"),
     ('{"language": "Python", "complexity": 7', "no JSON object")],
)
def test_no_usable_json(text: str, message: str) -> None:
    with pytest.raises(OutputParseError, match=message):
        parse_result(text, SkillExtraction)


def test_extract_json_returns_first_object() -> None:
    assert extract_json('prefix {"a": {"b": 1}} suffix {"c": 2}') == {"a": {"b": 1}}
    with pytest.raises(OutputParseError):
        extract_json("nothing here")


def test_validation_errors_are_compact_and_located() -> None:
    bad = {**EXAMPLES["attrition_risk"].answer, "risk_score": 1.7, "mood": "grim"}
    bad["factors"] = [{"factor": "x", "weight": -0.2, "trend": "sideways"}]
    with pytest.raises(OutputParseError) as info:
        parse_result(json.dumps(bad), AttritionRisk)
    errors = info.value.errors
    assert "risk_score: Input should be less than or equal to 1 (got 1.7)" in errors
    assert "mood: unknown field, remove it" in errors
    assert any(e.startswith("factors.0.weight: Input should be greater than or equal to 0")
               for e in errors)
    assert any(e.startswith("factors.0.trend: Input should be") and "sideways" in e
               for e in errors)


def test_long_inputs_are_shortened_in_errors() -> None:
    bad = {**ANSWER, "complexity": "x" * 500}
    with pytest.raises(OutputParseError) as info:
        parse_result(json.dumps(bad), SkillExtraction)
    assert len(info.value.errors[0]) < 160 and info.value.errors[0].endswith('...)')


def test_repair_instructions_quote_errors_and_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    text = repair_instructions([f"e{i}" for i in range(25)], schema)
    assert "- e0\n" in text and "- e19" in text and "- e20" not in text
    assert "and 5 more" in text
    assert json.dumps(schema, separators=(",", ":")) in text
