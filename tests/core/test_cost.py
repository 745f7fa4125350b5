"""Cost per call from the price library: the parts of a bill, local and unpriced calls, batch
rates, the worst case before a call, and running totals."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from decimal import Decimal
from importlib.metadata import version

import pytest

from aexy.completion import Usage
from aexy.cost import Cost, CostTally, PriceRef, format_usd, price, price_ref_for, worst_case

CLAUDE = ("claude", "claude-sonnet-4-5")
OPENAI = ("openai", "gpt-4o")
MTOK = Decimal(1_000_000)


def rates(provider_id: str, model: str, total_input: int) -> dict[str, Decimal]:
    """The model's rates per token straight from the library, at the tier ``total_input``
    reaches, to check our parts against."""
    import genai_prices
    from genai_prices.types import TieredPrices

    table = genai_prices.calc_price(genai_prices.Usage(input_tokens=1, output_tokens=1), model,
                                    provider_id=provider_id).model_price
    out = {}
    for key in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"):
        rate = getattr(table, key)
        if isinstance(rate, TieredPrices):
            reached = [t.price for t in rate.tiers if total_input > t.start]
            rate = reached[-1] if reached else rate.base
        out[key.removesuffix("_mtok")] = rate / MTOK
    return out


@pytest.mark.parametrize("total_input", [12_000, 250_000])  # below and above a price tier
def test_a_bill_has_its_four_parts_each_at_its_own_rate(total_input: int) -> None:
    usage = Usage(input_tokens=total_input, output_tokens=800, cache_read_tokens=5_000,
                  cache_write_tokens=3_000)
    cost = price(*CLAUDE, usage)
    r = rates("anthropic", CLAUDE[1], total_input)
    assert cost.status == "priced" and cost.priced_model == CLAUDE[1]
    assert cost.input_usd == (total_input - 8_000) * r["input"]
    assert cost.cache_read_usd == 5_000 * r["cache_read"]
    assert cost.cache_write_usd == 3_000 * r["cache_write"]
    assert cost.output_usd == 800 * r["output"]
    assert cost.total_usd == (cost.input_usd + cost.output_usd + cost.cache_read_usd
                              + cost.cache_write_usd)
    # Reading the prompt cache is cheaper than plain input, writing it dearer.
    assert r["cache_read"] < r["input"] < r["cache_write"]


def test_a_larger_input_can_reach_a_dearer_tier() -> None:
    small, large = (rates("anthropic", CLAUDE[1], n)["input"] for n in (12_000, 250_000))
    assert small < large  # so the parametrized check above covers two different rates


def test_cached_tokens_lower_the_bill_against_the_same_tokens_uncached() -> None:
    plain = price(*OPENAI, Usage(10_000, 500))
    cached = price(*OPENAI, Usage(10_000, 500, cache_read_tokens=8_000))
    assert cached.total_usd is not None and plain.total_usd is not None
    assert cached.total_usd < plain.total_usd
    assert cached.output_usd == plain.output_usd


def test_the_source_and_its_version_are_recorded() -> None:
    cost = price(*CLAUDE, Usage(100, 10))
    assert cost.source == f"genai-prices {version('genai-prices')}"


@pytest.mark.parametrize("provider", ["offline", "ollama", "llamacpp"])
def test_local_providers_cost_nothing_and_say_so(provider: str) -> None:
    cost = price(provider, "llama3.2", Usage(50_000, 4_000))
    assert (cost.status, cost.total_usd, str(cost)) == ("local", 0, "$0 (local)")


@pytest.mark.parametrize(("provider", "model", "ref", "why"), [
    ("openai", "my-finetune-xyz", None, "my-finetune-xyz"),  # a model the list does not know
    ("acme", "acme-large", None, "does not say how it is priced"),  # a third-party provider
    ("openai", "gpt-4o", PriceRef(api_url="http://127.0.0.1:8000/v1"), "127.0.0.1"),
])
def test_an_unknown_model_is_unpriced_never_zero(provider: str, model: str,
                                                 ref: PriceRef | None, why: str) -> None:
    cost = price(provider, model, Usage(1000, 100), ref=ref)
    assert cost.status == "unpriced" and str(cost) == "unpriced"
    assert cost.total_usd is None and cost.input_usd is None
    assert why in (cost.reason or "")
    assert json.loads(cost.model_dump_json())["total_usd"] is None


def test_an_openai_compatible_host_is_priced_by_its_url() -> None:
    cost = price("openai", "llama-3.3-70b-versatile", Usage(1000, 100),
                 ref=PriceRef(api_url="https://api.groq.com/openai/v1"))
    assert cost.status == "priced" and cost.total_usd


def test_batch_rates_are_the_batch_apis() -> None:
    usage = Usage(100_000, 10_000)
    standard, batch = price(*CLAUDE, usage), price(*CLAUDE, usage, batch=True)
    assert batch.batch and not standard.batch
    assert batch.total_usd is not None and standard.total_usd is not None
    assert 0 < batch.total_usd < standard.total_usd


def test_the_worst_case_bounds_every_call_within_its_limits() -> None:
    rng = random.Random(7)
    for provider, model in (CLAUDE, OPENAI):
        worst = worst_case(provider, model, 20_000, 4096)
        assert worst.total_usd is not None
        for _ in range(200):
            total_in = rng.randint(0, 20_000)
            read = rng.randint(0, total_in)
            write = rng.randint(0, total_in - read)
            actual = price(provider, model, Usage(total_in, rng.randint(0, 4096), read, write))
            assert actual.total_usd is not None and actual.total_usd <= worst.total_usd
    assert worst_case("ollama", "llama3.2", 10_000, 4096).status == "local"
    assert worst_case("openai", "nope-1", 10_000, 4096).status == "unpriced"


def test_json_carries_numbers_and_python_keeps_exact_decimals() -> None:
    cost = price(*CLAUDE, Usage(1234, 567))
    assert isinstance(cost.total_usd, Decimal)
    dumped = json.loads(cost.model_dump_json())
    assert isinstance(dumped["total_usd"], float)
    assert Decimal(str(dumped["total_usd"])) == cost.total_usd
    assert Cost.model_validate_json(cost.model_dump_json()) == cost


def test_a_tally_never_shows_a_total_as_complete_when_a_call_was_unpriced() -> None:
    tally = CostTally()
    paid = price(*CLAUDE, Usage(10_000, 1_000))
    tally.add(paid, label="claude/claude-sonnet-4-5")
    tally.add(paid.as_saved(), label="claude/claude-sonnet-4-5")
    tally.add(price("ollama", "m", Usage(5, 5)), label="ollama/m")
    assert tally.complete
    assert tally.paid_usd == tally.saved_usd == paid.total_usd
    tally.add(price("openai", "mystery", Usage(5, 5)), label="openai/mystery")
    snap = tally.snapshot()
    assert not snap["complete"] and snap["unpriced_models"] == {"openai/mystery": 1}
    assert snap["calls"] == {"priced": 1, "priced_saved": 1, "local": 1, "unpriced": 1}
    assert tally.summary() == (f"cost ${format_usd(tally.paid_usd)} (saved "
                               f"${format_usd(tally.saved_usd)} by the cache) + 1 unpriced call "
                               "(openai/mystery)")


@pytest.mark.parametrize(("amount", "shown"), [
    ("12.3", "12.30"), ("1", "1.00"), ("0.5", "0.50"), ("0.04213", "0.04213"),
    ("0.000012345", "0.00001234"), ("0", "0")])
def test_amounts_read_as_dollars(amount: str, shown: str) -> None:
    assert format_usd(Decimal(amount)) == shown


def test_first_party_providers_know_their_price_list() -> None:
    assert price_ref_for("claude") == PriceRef(provider_id="anthropic")
    assert price_ref_for("offline") == PriceRef(local=True)
    assert price_ref_for("someone-elses") is None


def test_usage_keeps_its_old_shape() -> None:
    usage = Usage(3, 4)
    assert (usage.total_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (7, 0, 0)


def test_the_price_library_is_imported_only_when_a_price_is_asked_for() -> None:
    probe = ("import sys, aexy.cost, aexy.budget; before = 'genai_prices' in sys.modules; "
             "from aexy.completion import Usage; "
             "aexy.cost.price('claude', 'claude-sonnet-4-5', Usage(1, 1)); "
             "print(before, 'genai_prices' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout.split()
    assert out == ["False", "True"]


def test_the_calls_behind_one_result_add_up() -> None:
    first, repair = price(*CLAUDE, Usage(8_000, 900)), price(*CLAUDE, Usage(9_500, 700, 8_000))
    both = first + repair
    assert both.status == "priced" and both.priced_model == CLAUDE[1]
    assert both.total_usd == first.total_usd + repair.total_usd  # type: ignore[operator]
    assert both.cache_read_usd == repair.cache_read_usd
    local = price("ollama", "m", Usage(1, 1))
    assert local + local == local and (local + first).total_usd == first.total_usd
    unpriced = price("openai", "mystery", Usage(1, 1))
    assert (first + unpriced).status == (unpriced + first).status == "unpriced"


@pytest.mark.parametrize("provider_id", ["anthropic", "openai"])
def test_every_model_is_priced_exactly_as_the_library_prices_it(provider_id: str) -> None:
    """The rate card (the library's rates, read once per model) against the library's own
    price of each call: every model, both rate kinds, every tier, prices that change with the
    date or the time of day."""
    from datetime import UTC, datetime

    from genai_prices import data_snapshot

    from aexy.cost import _library, _price_by_library

    library = _library()
    assert not isinstance(library, str)
    provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == provider_id)
    rng = random.Random(provider_id)
    ref = PriceRef(provider_id=provider_id)
    checked = 0
    for model in provider.models:
        for batch in (False, True):
            for total_in in (0, 1, 128_000, 128_001, 200_000, 200_001, 272_001,
                             rng.randint(2, 400_000)):
                read = rng.randint(0, total_in)
                usage = Usage(total_in, rng.randint(0, 9_000), read,
                              rng.randint(0, total_in - read))
                when = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                tzinfo=UTC)
                ours = price("x", model.id, usage, ref=ref, batch=batch, when=when)
                theirs = _price_by_library(library, model.id, ref, batch, when, usage)
                assert ours.model_dump() == theirs.model_dump(), (model.id, batch, usage)
                checked += 1
    assert checked >= 16 * len(provider.models) > 300


def test_counts_the_library_refuses_are_unpriced_with_its_reason() -> None:
    cost = price(*CLAUDE, Usage(100, 10, cache_read_tokens=80, cache_write_tokens=80))
    assert cost.status == "unpriced" and cost.reason
