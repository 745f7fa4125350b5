"""Token estimates before a call: labelled as estimates, the schema counted, and a hard upper
bound for budgets. (How close the estimate is: ``benchmarks/token_estimate.py``.)"""

from __future__ import annotations

from pathlib import Path

import aexy
from aexy.completion import CompletionRequest
from aexy.tokens import ESTIMATE_METHOD, TokenCount, estimate, estimate_request, upper_bound

SOURCES = sorted(Path(aexy.__file__).parent.rglob("*.py"))


def test_an_estimate_says_it_is_one() -> None:
    counted = estimate_request(CompletionRequest.simple("Be brief.", "def f(): pass"))
    assert counted == TokenCount(counted.tokens, estimated=True, method=ESTIMATE_METHOD)
    assert counted.tokens > estimate("Be brief.") + estimate("def f(): pass")  # + framing


def test_the_schema_is_part_of_the_input() -> None:
    bare = CompletionRequest.simple("s", "u")
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}}
    with_schema = CompletionRequest.simple("s", "u", json_schema=schema)
    assert estimate_request(with_schema).tokens > estimate_request(bare).tokens
    assert upper_bound(with_schema) > upper_bound(bare)


def test_the_bound_is_above_the_estimate_for_real_files() -> None:
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        request = CompletionRequest.simple("Review this file.", text)
        assert estimate_request(request).tokens <= upper_bound(request), path
        assert 0 < estimate(text) <= len(text.encode()), path


def test_the_estimate_grows_with_what_makes_tokens() -> None:
    assert estimate("") == 0
    assert estimate("word " * 100) < estimate("incomprehensibilities " * 100)
    assert estimate("a b c") < estimate("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9")
    assert estimate("plain") < estimate("日本語のテキスト")
