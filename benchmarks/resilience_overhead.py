"""Per-call cost of the gateway against calling the provider directly.

The provider answers instantly with a prebuilt, valid ``code_quality`` completion, so every
figure is pure client-side cost. Sequential calls, real clock, median of ``--rounds`` rounds of
``--calls`` calls each:

* ``provider.complete()``: the baseline (a caller that builds its request once and parses
  nothing);
* ``complete() + parse_result()``: the least a caller must do to get a validated result;
* ``analyze()`` with resilience mostly off (no coalescing, no limiter, no cache);
* ``analyze()`` with the defaults (coalescing, breaker, retry loop, deadline; no cache);
* the defaults plus the ``local`` rate limiter (limits high enough never to wait);
* the defaults plus the memory cache, every call a miss and a store;
* a cache hit, for reference.

    python benchmarks/resilience_overhead.py [--calls 3000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aexy.completion import Completion, CompletionRequest, FinishReason, Message, Usage
from aexy.gateway import LLMGateway
from aexy.output import parse_result
from aexy.plugins import PluginHost
from aexy.providers.base import BaseLLMProvider, ProviderSettings
from aexy.schema import example_from_schema
from aexy.settings import AexySettings
from aexy.testing import install_fake_provider

CODE = "def add(a, b):\n    return a + b\n"


class CannedProvider(BaseLLMProvider):
    name: ClassVar[str] = "canned"

    def __init__(self, text: str, settings: ProviderSettings | None = None) -> None:
        super().__init__(settings if settings is not None else ProviderSettings(model="m"))
        self.completion = Completion(text=text, model="m", usage=Usage(400, 60),
                                     finish_reason=FinishReason.STOP)

    async def complete(self, request: CompletionRequest) -> Completion:
        return self.completion


async def measure(cases: dict[str, Callable[[int], Awaitable[Any]]], calls: int,
                  rounds: int) -> dict[str, float]:
    """Median microseconds per call; cases interleaved round by round so that machine drift
    hits them all alike."""
    for fn in cases.values():  # warm-up
        for i in range(min(200, calls)):
            await fn(i)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            for i in range(calls):
                await fn((r + 1) * 10_000_000 + i)
            samples[name].append((time.perf_counter() - t0) / calls * 1e6)
    return {name: statistics.median(v) for name, v in samples.items()}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    host = PluginHost(entry_points=False)
    install_fake_provider(host)
    spec = host.analysis_types().get("code_quality")
    text = json.dumps(example_from_schema(spec.json_schema))
    provider = CannedProvider(text)
    request = CompletionRequest(system="s", messages=(Message("user", CODE),),
                                json_schema=spec.json_schema, max_tokens=spec.max_tokens)

    def gateway(provider: BaseLLMProvider, cache: bool, **settings: Any) -> LLMGateway:
        return LLMGateway(provider=provider, fallbacks=(), plugins=host, cache=None if cache
                          else False, settings=AexySettings(**settings))

    minimal = gateway(provider, False, coalesce=False, breaker_failure_rate=0, max_attempts=1)
    default = gateway(provider, False)
    limited_provider = CannedProvider(text, ProviderSettings(
        model="m", requests_per_minute=1e9, tokens_per_minute=10**15))
    limited = gateway(limited_provider, False)
    cached = gateway(provider, True, cache_max_entries=10**6)
    hit = gateway(provider, True)
    await hit.analyze("code_quality", CODE)

    cases: dict[str, Callable[[int], Awaitable[Any]]] = {
        "provider.complete() (baseline)": lambda i: provider.complete(request),
        "complete() + parse_result()": lambda i: _parsed(provider, request, spec),
        "analyze(), resilience off": lambda i: minimal.analyze("code_quality", f"{CODE}#{i}"),
        "analyze(), defaults": lambda i: default.analyze("code_quality", f"{CODE}#{i}"),
        "analyze(), defaults + local limiter":
            lambda i: limited.analyze("code_quality", f"{CODE}#{i}"),
        "analyze(), defaults + cache miss/store":
            lambda i: cached.analyze("code_quality", f"{CODE}#{i}"),
        "analyze(), cache hit": lambda i: hit.analyze("code_quality", CODE),
    }
    print(f"Python {platform.python_version()} on {platform.machine()}; {a.calls} calls x "
          f"{a.rounds} rounds, median per call\n")
    results = await measure(cases, a.calls, a.rounds)
    base = results["provider.complete() (baseline)"]
    off = results["analyze(), resilience off"]
    print(f"{'case':<42}{'us/call':>10}{'over baseline us':>18}{'vs resilience off':>19}")
    for name, us in results.items():
        print(f"{name:<42}{us:>10.1f}{us - base:>18.1f}{us / off:>18.2f}x")
    print(f"\nresilience (defaults vs off): {results['analyze(), defaults'] - off:+.1f} us/call; "
          f"with the local limiter: {results['analyze(), defaults + local limiter'] - off:+.1f}"
          " us/call")


async def _parsed(provider: BaseLLMProvider, request: CompletionRequest, spec: Any) -> Any:
    completion = await provider.complete(request)
    return parse_result(completion.text, spec.result_model)


if __name__ == "__main__":
    asyncio.run(main())
