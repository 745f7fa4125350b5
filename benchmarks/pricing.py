"""What pricing one call costs: ``aexy.cost.price`` (each model's rates read from genai-prices
once) against genai-prices' own ``calc_price``, the baseline a user would call, for the same
usages (every fourth one with prompt-cache reads and writes, as aexy prices them: the four parts
apart). Rounds interleave the two; the figure of a round is the mean per call, the ratio is the
median of the per-round ratios.

    python benchmarks/pricing.py [--rounds 7] [--calls 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import genai_prices

from aexy.completion import Usage
from aexy.cost import PriceRef, price

MODELS = (("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4.1-mini"))


def usages(n: int, seed: int) -> list[Usage]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        total = rng.randint(500, 60_000)
        read = rng.randint(0, total // 2) if i % 4 == 0 else 0
        write = rng.randint(0, total // 4) if i % 4 == 0 else 0
        out.append(Usage(total, rng.randint(50, 4096), read, write))
    return out


def library(provider_id: str, model: str, batch: list[Usage]) -> float:
    """genai-prices alone: one calc_price per call, plus the three aexy makes to price the
    prompt-cache parts apart when there are any."""
    t0 = time.perf_counter()
    for u in batch:
        genai_prices.calc_price(genai_prices.Usage(
            input_tokens=u.input_tokens, output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_tokens, cache_write_tokens=u.cache_write_tokens),
            model, provider_id=provider_id)
        if u.cache_read_tokens or u.cache_write_tokens:
            for read, write in ((0, 0), (u.cache_read_tokens, 0), (0, u.cache_write_tokens)):
                genai_prices.calc_price(genai_prices.Usage(
                    input_tokens=u.input_tokens, cache_read_tokens=read,
                    cache_write_tokens=write), model, provider_id=provider_id)
    return (time.perf_counter() - t0) / len(batch) * 1e6


def ours(provider_id: str, model: str, batch: list[Usage]) -> float:
    ref = PriceRef(provider_id=provider_id)
    t0 = time.perf_counter()
    for u in batch:
        price("x", model, u, ref=ref)
    return (time.perf_counter() - t0) / len(batch) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=2000)
    a = ap.parse_args()
    print(f"genai-prices {genai_prices.__version__}; {a.rounds} rounds of {a.calls} calls; "
          "us per call, median over rounds")
    for provider_id, model in MODELS:
        ours(provider_id, model, usages(50, 0))  # the card is read once, as in a real run
        library(provider_id, model, usages(50, 0))
        mine, theirs = [], []
        for r in range(a.rounds):
            batch = usages(a.calls, r)
            mine.append(ours(provider_id, model, batch))
            theirs.append(library(provider_id, model, batch))
        ratio = statistics.median(t / m for m, t in zip(mine, theirs, strict=True))
        print(f"{model:<20} aexy.cost.price {statistics.median(mine):7.1f}   "
              f"genai_prices.calc_price {statistics.median(theirs):7.1f}   {ratio:5.1f}x faster")


if __name__ == "__main__":
    main()
