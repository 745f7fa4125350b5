"""Tokens-per-minute enforcement: real usage admitted per minute against the configured limit.

A provider limited to ``--tpm`` tokens per minute (through its settings, as
``CLAUDE_TOKENS_PER_MINUTE`` would set it) is driven by ``--workers`` concurrent callers for
``--windows`` one-minute windows of virtual time (``VirtualClock``; nothing really waits). Each
call takes 2 s and reports its real usage; the gateway reserves ``prompt chars / 4 + max
output`` before the call, as it must, and the limiter either reconciles with the real usage
(aexy's ``local`` limiter) or keeps the estimate (the baseline, measured in the same run: what
an estimate-only limiter such as a plain ``aiolimiter`` does).

Two workloads:

* ``typical``: small prompts, 100-800 output tokens of a 4,096 cap: the estimate is far above
  the real usage, so an estimate-only limiter admits a fraction of the allowed tokens;
* ``dense``: 40,000-character inputs at 2 characters per token: the estimate is below the real
  usage, so an estimate-only limiter overshoots the limit. One such call is ~21k tokens, so this
  workload runs at ``--dense-tpm`` (default 1M) where a call is ~2 % of a window; at 100k a
  window holds 4 or 5 calls and per-window figures jump by 21 % whatever the limiter does.

Tokens are counted in the window in which the call started. Window 1 includes the bucket's
initial full minute of budget (the providers' own token buckets allow the same), so the
enforcement figure is over windows 2..N.

    python benchmarks/resilience_tpm.py [--tpm 100000] [--dense-tpm 1000000] [--windows 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
from collections import defaultdict
from typing import Any, ClassVar

from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import LLMError
from aexy.gateway import LLMGateway
from aexy.hookspecs import hookimpl
from aexy.plugins import PluginHost
from aexy.ratelimit import LocalRateLimiter, RateLimiterSpec
from aexy.resilience import VirtualClock
from aexy.schema import example_from_schema
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, FakeSettings, install_fake_provider

WINDOW = 60.0
LATENCY = 2.0


class EstimateOnly(LocalRateLimiter):
    """The baseline: the same buckets, but the estimate is never corrected."""

    def reconcile(self, estimated: int, actual: int) -> None:
        return None


class _Baseline:
    @hookimpl
    def register_rate_limiters(self) -> list[RateLimiterSpec]:
        return [RateLimiterSpec("estimate-only", EstimateOnly, "baseline without reconcile")]


class MeteredProvider(FakeProvider):
    name: ClassVar[str] = "metered"

    def __init__(self, settings: FakeSettings, *, clock: VirtualClock, chars_per_token: float,
                 seed: int, answer: str) -> None:
        super().__init__(settings, replies=[])
        self.clock = clock
        self.chars_per_token = chars_per_token
        self.rng = random.Random(seed)
        self.answer = answer
        self.log: list[tuple[float, int]] = []  # (start time, real tokens)

    async def complete(self, request: CompletionRequest) -> Completion:
        start = self.clock()
        usage = Usage(input_tokens=int(request.prompt_chars / self.chars_per_token),
                      output_tokens=self.rng.randint(100, 800))
        self.log.append((start, usage.total_tokens))
        await self.clock.sleep(LATENCY)
        return Completion(self.answer, self.model, usage, FinishReason.STOP)


async def drive(limiter: str, *, tpm: int, windows: int, workers: int, content_chars: int,
                chars_per_token: float, seed: int) -> dict[str, Any]:
    host = PluginHost(entry_points=False)
    install_fake_provider(host, MeteredProvider)
    host.register(_Baseline(), name="baseline-limiter", distribution="bench", version="0")
    clock = VirtualClock()
    spec = host.analysis_types().get("code_quality")
    provider = MeteredProvider(FakeSettings(tokens_per_minute=tpm), clock=clock,
                               chars_per_token=chars_per_token, seed=seed,
                               answer=json.dumps(
                                   example_from_schema(spec.json_schema)))
    gw = LLMGateway(provider=provider, fallbacks=(), plugins=host, cache=False, clock=clock,
                    sleep=clock.sleep,
                    settings=AexySettings(rate_limiter=limiter, deadline_seconds=10 * 3600))
    end = windows * WINDOW
    filler = "x = 1  # padding\n"
    counter = 0

    async def worker() -> None:
        nonlocal counter
        while clock() < end:
            counter += 1
            head = f"def f{counter}():\n    return {counter}\n"
            body = (filler * (content_chars // len(filler) + 1))[:max(0, content_chars
                                                                      - len(head))]
            try:
                await gw.analyze("code_quality", head + body)
            except LLMError as exc:
                raise SystemExit(f"unexpected error in the benchmark: {exc!r}") from exc

    await asyncio.gather(*(worker() for _ in range(workers)))
    per_window: defaultdict[int, int] = defaultdict(int)
    for start, tokens in provider.log:
        if start < end:
            per_window[int(start // WINDOW)] += tokens
    await gw.aclose()
    return {"windows": [per_window[i] for i in range(windows)], "calls": len(provider.log)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tpm", type=int, default=100_000)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--dense-tpm", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(f"Python {platform.python_version()}; {a.windows} windows of 60 s (virtual), "
          f"{a.workers} workers, {LATENCY:.0f} s per call\n")
    workloads = {"typical": (300, 4.0, a.tpm), "dense": (40_000, 2.0, a.dense_tpm)}
    failed = False
    for workload, (chars, cpt, tpm) in workloads.items():
        rows = {}
        for limiter in ("local", "estimate-only"):
            rows[limiter] = await drive(limiter, tpm=tpm, windows=a.windows,
                                        workers=a.workers, content_chars=chars,
                                        chars_per_token=cpt, seed=a.seed)
        print(f"workload {workload!r}: limit {tpm:,} tokens/min, {chars:,}-char inputs, "
              f"{cpt:g} chars/token")
        header = "".join(f"{'w' + str(i + 1):>8}" for i in range(a.windows))
        print(f"  {'limiter':<15}{header}{'steady w2..':>13}{'calls':>7}")
        for limiter, row in rows.items():
            ratios = [t / tpm for t in row["windows"]]
            steady = ratios[1:]
            mean = sum(steady) / len(steady)
            cells = "".join(f"{r:>8.1%}" for r in ratios)
            print(f"  {limiter:<15}{cells}{mean:>13.1%}{row['calls']:>7}")
            if limiter == "local":
                worst = max(abs(r - 1) for r in steady)
                ok = worst <= 0.05
                failed |= not ok
                print(f"  -> local: steady-state mean {mean:.2%} of the limit, worst window "
                      f"{worst:+.2%} off; within +/-5%: {'yes' if ok else 'NO'}")
        local = sum(rows["local"]["windows"][1:])
        base = sum(rows["estimate-only"]["windows"][1:])
        print(f"  -> real tokens admitted, local / estimate-only: {local / base:.2f}x\n")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
