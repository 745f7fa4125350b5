"""Hostile input (issue 12): every case is a typed InvalidInputError before any provider call."""

from __future__ import annotations

from typing import Any

import pytest

from aexy import AnalysisRequest, InvalidInputError, LLMGateway
from aexy.analysis import MAX_CONTEXT_DEPTH, check_prompt_size
from aexy.prompts import Prompt
from aexy.settings import AexySettings
from aexy.testing import FakeProvider

CODE = "def add(a, b):\n    return a + b\n"


def nested(depth: int) -> dict[str, Any]:
    """A context whose mapping nesting is ``depth`` levels (the context itself is level 1)."""
    context: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        context = {"k": context}
    return context


async def refused(content: object, context: object, settings: AexySettings | None = None
                  ) -> InvalidInputError:
    """Run one analysis that must be refused; the provider must never be called."""
    provider = FakeProvider()
    async with LLMGateway(provider=provider, fallbacks=(), cache=False,
                          settings=settings or AexySettings()) as gateway:
        with pytest.raises(InvalidInputError) as info:
            await gateway.analyze("skill_extraction", content, context)  # type: ignore[arg-type]
    assert provider.calls == []
    return info.value


# -- lone surrogates ---------------------------------------------------------------------------
async def test_a_lone_surrogate_in_content_is_invalid_input() -> None:
    err = await refused("x='\ud800'", None)
    assert "content" in str(err) and "U+D800" in str(err) and "index 3" in str(err)
    assert err.__context__ is None  # not a UnicodeEncodeError wearing a new name


@pytest.mark.parametrize(
    ("context", "where"),
    [
        ({"file_path": "a\udfffb.py"}, "context['file_path']"),
        ({"labels": ["ok", "\ud83d"]}, "context['labels'][1]"),
        ({"bad\ud800key": 1}, "a key of context"),
    ],
)
async def test_a_lone_surrogate_in_the_context_is_invalid_input(
        context: dict[str, Any], where: str) -> None:
    err = await refused(CODE, context)
    assert where in str(err)


async def test_paired_surrogates_written_as_text_are_fine() -> None:
    request = AnalysisRequest.create("t", "emoji \U0001F600 ok", {"k": "\U0001F600"},
                                     max_content_chars=100)
    assert request.context == {"k": "\U0001F600"}


# -- depth -------------------------------------------------------------------------------------
async def test_a_context_nested_a_thousand_levels_is_invalid_input() -> None:
    err = await refused(CODE, nested(1000))
    assert f"more than {MAX_CONTEXT_DEPTH} levels" in str(err)


async def test_a_context_deeper_than_the_interpreter_stack_is_walked_without_recursion() -> None:
    # 100,000 levels would overflow any recursive walk, whatever the recursion limit.
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    err = await refused(CODE, {"deep": deep})
    assert "context['deep'][0]" in str(err)


def test_the_documented_depth_is_accepted_and_one_more_is_not() -> None:
    request = AnalysisRequest.create("t", CODE, nested(MAX_CONTEXT_DEPTH), max_content_chars=100)
    assert request.context_json.count("{") == MAX_CONTEXT_DEPTH
    with pytest.raises(InvalidInputError, match="nested more than"):
        AnalysisRequest.create("t", CODE, nested(MAX_CONTEXT_DEPTH + 1), max_content_chars=100)


async def test_a_context_that_contains_itself_is_invalid_input() -> None:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    err = await refused(CODE, loop)
    assert "refers to itself" in str(err)


async def test_an_integer_json_cannot_encode_is_invalid_input() -> None:
    err = await refused(CODE, {"n": 10 ** 5000})
    assert "cannot be encoded as JSON" in str(err)


# -- size of the prompt as a whole -------------------------------------------------------------
async def test_a_50_mb_context_value_is_refused_before_any_provider_call() -> None:
    err = await refused(CODE, {"notes": "x" * 50_000_000})
    assert "AEXY_MAX_PROMPT_CHARS" in str(err)
    assert "50,0" in str(err)  # the size is stated


async def test_the_prompt_limit_counts_instructions_and_context_not_only_content() -> None:
    settings = AexySettings(max_content_chars=1_000, max_prompt_chars=4_500)
    ok = FakeProvider()
    async with LLMGateway(provider=ok, fallbacks=(), cache=False, settings=settings) as gateway:
        await gateway.analyze("skill_extraction", CODE, {"note": "short"})
    assert len(ok.calls) == 1
    # Content well within its own limit, but the context pushes the prompt over.
    await refused(CODE, {"note": "y" * 2_900}, settings)


def test_the_prompt_limit_defaults_to_twice_the_content_limit(monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    assert AexySettings().max_prompt_chars == 2 * AexySettings().max_content_chars
    monkeypatch.setenv("AEXY_MAX_CONTENT_CHARS", "5000")
    assert AexySettings().max_prompt_chars == 10_000
    monkeypatch.setenv("AEXY_MAX_PROMPT_CHARS", "7000")
    assert AexySettings().max_prompt_chars == 7000


def test_create_refuses_content_and_context_over_the_prompt_limit_before_rendering() -> None:
    with pytest.raises(InvalidInputError, match="content and context are"):
        AnalysisRequest.create("t", CODE, {"k": "z" * 500}, max_content_chars=1_000,
                               max_prompt_chars=400)
    request = AnalysisRequest.create("t", CODE, {"k": "z" * 100}, max_content_chars=1_000,
                                     max_prompt_chars=400)
    assert request.context["k"] == "z" * 100


def test_check_prompt_size_counts_system_and_user_text() -> None:
    check_prompt_size(Prompt("s" * 50, "u" * 50, "v1", "builtin"), 100)
    with pytest.raises(InvalidInputError, match="101 characters"):
        check_prompt_size(Prompt("s" * 51, "u" * 50, "v1", "builtin"), 100)


# -- blank content and NUL -------------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        "\u3000\u00a0\u2028\u2029\u0085\u1680\u202f\u205f",  # Unicode whitespace, no ASCII
        "\u200b\u200b",  # zero-width spaces
        "\ufeff\n",  # a byte-order mark and a newline
        " \u2060\u200d\u200c \u00ad\t",  # word joiner, zero-width (non-)joiners, soft hyphen
        "\u3164\u115f\uffa0",  # Hangul fillers: letters by category, blank by design
        "\U000e0020\U000e007f\ufe0f",  # tag characters and a variation selector alone
    ],
)
async def test_content_that_is_blank_after_unicode_whitespace_is_stripped_is_refused(
        content: str) -> None:
    err = await refused(content, None)
    assert str(err).startswith("content is empty")


async def test_content_holding_a_nul_is_refused_with_its_position() -> None:
    err = await refused("def f():\n    return 1\x00\n", None)
    assert "NUL" in str(err) and "index 21" in str(err)
    err = await refused("\x00", None)
    assert "NUL" in str(err)


@pytest.mark.parametrize("content", ["\u200bx", "x\u200b", "\u00a0print(1)", "\u2800", "\u3164가"])
def test_visible_text_among_invisible_characters_is_accepted(content: str) -> None:
    request = AnalysisRequest.create("t", content, None, max_content_chars=100)
    assert request.content == content  # kept exactly as given
