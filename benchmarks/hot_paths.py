"""Three per-call hot spots of issue 11, each against what it cost before, in the same run.

* ``parse_result()`` on the plain JSON answer that structured output gives: the fast path
  (one ``model_validate_json``) against the candidate search it used to run first (regexes, a
  ``json.loads``, a ``json.dumps(sort_keys=True)`` for de-duplication, ``model_validate``),
  which is still :func:`aexy.output.search_result`;
* aexy-claude's structured-output schema: cached per schema object against
  ``anthropic.transform_schema`` on every call;
* aexy-openai's "is this api.openai.com?" test, asked twice per request body: parsed once at
  construction against ``urlsplit`` on every ask.

Cases run interleaved, round by round, so machine drift hits them alike; the figure quoted is
the median over rounds of each case's time per call, and the ratio is taken per round and its
median quoted.

    python benchmarks/hot_paths.py [--calls 20000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from aexy.output import parse_result, search_result
from aexy.plugins import PluginHost
from aexy.schema import example_from_schema


def per_call(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e6


def compare(name: str, before: Callable[[], Any], after: Callable[[], Any], calls: int,
            rounds: int) -> tuple[str, float, float, float]:
    """``(name, µs before, µs after, median ratio before/after)``."""
    for fn in (before, after):  # warm-up: caches, lazy imports
        per_call(fn, min(calls, 500))
    b_times, a_times, ratios = [], [], []
    for _ in range(rounds):
        b = per_call(before, calls)
        a = per_call(after, calls)
        b_times.append(b)
        a_times.append(a)
        ratios.append(b / a)
    return name, statistics.median(b_times), statistics.median(a_times), statistics.median(ratios)


def main(calls: int, rounds: int) -> None:
    spec = PluginHost(entry_points=False).analysis_types().get("code_quality")
    assert spec is not None
    answer = json.dumps(example_from_schema(spec.json_schema))
    model = spec.result_model
    assert parse_result(answer, model) == search_result(answer, model)

    results = [compare("parse_result: plain JSON answer (code_quality)",
                       lambda: search_result(answer, model), lambda: parse_result(answer, model),
                       calls, rounds)]

    try:
        from aexy_claude.provider import ClaudeProvider, ClaudeSettings, _api_schema
    except ImportError:
        pass
    else:
        claude = ClaudeProvider(ClaudeSettings(api_key="sk-ant-bench"))
        schema = spec.json_schema
        results.append(compare("aexy-claude: structured-output schema per call",
                               lambda: _api_schema(schema), lambda: claude._api_schema(schema),
                               calls, rounds))

    try:
        from aexy_openai.provider import OpenAIProvider, OpenAISettings, _is_openai
    except ImportError:
        pass
    else:
        openai = OpenAIProvider(OpenAISettings(base_url="http://gpu-box:8000/v1"))
        url = openai.base_url

        def parse_twice() -> None:
            _is_openai(url)
            _is_openai(url)

        def cached_twice() -> None:
            openai.is_openai  # noqa: B018 - the attribute read is what is measured
            openai.is_openai  # noqa: B018

        results.append(compare("aexy-openai: api.openai.com test, twice per body",
                               parse_twice, cached_twice, calls, rounds))

    print(f"Python {platform.python_version()}, {calls} calls x {rounds} rounds, "
          "median per call; ratio = median over rounds of before/after")
    print(f"{'case':<50} {'before us':>10} {'after us':>10} {'ratio':>7}")
    for name, before, after, ratio in results:
        print(f"{name:<50} {before:>10.2f} {after:>10.2f} {ratio:>6.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    main(args.calls, args.rounds)
