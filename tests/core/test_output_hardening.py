"""Hostile answers (issue 12): deeply nested JSON is an invalid answer, never a crash; and the
plain-JSON fast path of parse_result gives exactly what the candidate search gives."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

import pytest

from aexy import InvalidOutputError, LLMGateway, LLMUnavailableError
from aexy.catalogue.code import SkillExtraction
from aexy.output import (
    MAX_ANSWER_DEPTH,
    OutputParseError,
    extract_json,
    iter_json_objects,
    parse_result,
    search_result,
)
from aexy.plugins import PluginHost
from aexy.schema import example_from_schema
from aexy.settings import AexySettings
from aexy.testing import FakeProvider

ANSWER = {
    "language": "Python", "frameworks": ["FastAPI"], "patterns": ["repository"],
    "complexity": 4, "quality_indicators": ["type hints"], "domains": ["payments"],
}
SPECS = PluginHost(entry_points=False).analysis_types()
DEEP_ARRAY = "[" * 20000 + "]" * 20000
DEEP_OBJECT = '{"a":' * 20000 + "1" + "}" * 20000
HOSTILE = {
    "bare-array": DEEP_ARRAY,
    "bare-object": DEEP_OBJECT,
    "prose": f"Here you go: {DEEP_OBJECT} hope it helps",
    "fence": f"Sure!\n```json\n{DEEP_ARRAY}\n```\nDone.",
    "fence-object": f"```json\n{DEEP_OBJECT}\n```",
    # Deep enough to pass json's own guard yet deeper than any result model.
    "moderate": "[" * 500 + "]" * 500,
    "moderate-in-prose": "Result: " + '{"a":' * 500 + "1" + "}" * 500,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_deeply_nested_json_is_an_invalid_answer(text: str) -> None:
    with pytest.raises(OutputParseError) as info:
        parse_result(text, SkillExtraction)
    assert info.value.errors == [f"the answer nests JSON more than {MAX_ANSWER_DEPTH} levels deep"]
    with pytest.raises(OutputParseError):
        extract_json(text)


def test_a_valid_answer_after_a_deep_one_in_prose_is_still_found() -> None:
    text = "first " + "[" * 500 + "]" * 500 + " then " + json.dumps(ANSWER)
    assert parse_result(text, SkillExtraction).language == "Python"


def test_nesting_at_the_limit_is_a_candidate_and_one_more_is_not() -> None:
    at_limit = "[" * MAX_ANSWER_DEPTH + "]" * MAX_ANSWER_DEPTH
    over = "[" * (MAX_ANSWER_DEPTH + 1) + "]" * (MAX_ANSWER_DEPTH + 1)
    assert list(iter_json_objects(at_limit))
    assert list(iter_json_objects(over)) == []


def test_unclosed_braces_in_a_long_answer_are_no_json_object() -> None:
    # Each failed start rescans the text (json counts lines for its error): the search stops
    # after a bounded number of them instead of trying all 20,000 (seconds of CPU).
    text = 'x {"a":' * 20000
    with pytest.raises(OutputParseError, match="no JSON object"):
        parse_result(text, SkillExtraction)


class _Backup(FakeProvider):
    name: ClassVar[str] = "backup"


async def test_a_deep_answer_is_repaired_then_invalid_output_not_a_recursion_error() -> None:
    provider = FakeProvider(replies=[DEEP_ARRAY, f"```json\n{DEEP_OBJECT}\n```"])
    async with LLMGateway(provider=provider, fallbacks=(), cache=False) as gateway:
        with pytest.raises(InvalidOutputError) as info:
            await gateway.analyze("skill_extraction", "x = 1\n")
    assert len(provider.calls) == 2  # the answer, then one repair request
    assert any("levels deep" in e for e in info.value.errors)


async def test_a_deep_answer_does_not_stop_the_fallback_chain() -> None:
    primary = FakeProvider(replies=[DEEP_ARRAY, DEEP_ARRAY])
    backup = _Backup(replies=[json.dumps(ANSWER)])
    async with LLMGateway(provider=primary, fallbacks=[backup], cache=False) as gateway:
        result = await gateway.analyze("skill_extraction", "x = 1\n")
    assert result.provenance.provider == "backup" and result.provenance.fallback
    assert "fake/fake-model: invalid_output" in result.provenance.failures


async def test_every_coalesced_caller_gets_the_typed_error() -> None:
    provider = FakeProvider(replies=[DEEP_ARRAY, DEEP_ARRAY])
    backup = _Backup(replies=[DEEP_OBJECT, DEEP_OBJECT])
    # Cached calls coalesce (uncached ones each ask for their own answer).
    async with LLMGateway(provider=provider, fallbacks=[backup], cache=None,
                          settings=AexySettings(cache_backend="memory")) as gateway:
        async def call() -> BaseException | None:
            try:
                await gateway.analyze("skill_extraction", "x = 1\n")
            except BaseException as exc:
                return exc
            return None

        outcomes = await asyncio.gather(*(call() for _ in range(5)))
    assert all(isinstance(o, LLMUnavailableError) for o in outcomes), outcomes
    assert len(provider.calls) + len(backup.calls) == 4  # one chain walk for all five


# -- the fast path -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", SPECS.names())
def test_the_fast_path_agrees_with_the_candidate_search(name: str) -> None:
    spec = SPECS.items[name]
    answer = example_from_schema(spec.json_schema)
    text = json.dumps(answer)
    fast = parse_result(text, spec.result_model)
    assert fast.model_dump() == search_result(text, spec.result_model).model_dump()
    # A wrong plain answer still reports the search's errors.
    broken = json.dumps({**answer, "unexpected_field": 1})
    with pytest.raises(OutputParseError) as fast_err:
        parse_result(broken, spec.result_model)
    with pytest.raises(OutputParseError) as slow_err:
        search_result(broken, spec.result_model)
    assert fast_err.value.errors == slow_err.value.errors


def test_raw_control_characters_inside_strings_are_read() -> None:
    # llama.cpp's JSON grammar lets a model put a raw newline inside a string.
    from aexy.catalogue.code import CodeQuality

    text = ('{"score": 6, "strengths": ["clear\nnames"], "issues": [], "suggestions": [],'
            ' "summary": "Fine,\tmostly."}')
    result = parse_result(text, CodeQuality)
    assert result.strengths[0].description == "clear\nnames" and result.summary == "Fine,\tmostly."
