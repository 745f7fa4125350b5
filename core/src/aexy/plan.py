"""Dry runs: what a job would send and what it would cost, without sending anything.

A gateway built with ``dry_run=True`` reads the cache as usual; for each analysis the cache does
not hold it counts the request's input tokens (the provider's :meth:`count_tokens
<aexy.contract.provider.BaseLLMProvider.count_tokens>`: counted where the provider can count,
estimated and labelled so elsewhere), prices it, and records a :class:`PlannedCall` in its
:class:`JobPlan`. Nothing is sent to a model and nothing is written to the cache.

So that a job's later steps (a profile over its samples' findings, matches over a task's
signals) are planned too, each analysis not in the cache is answered by the built-in offline
heuristics as a stand-in (marked ``provenance.dry_run``, never cached, never to be used). The
later steps' token counts then come from the stand-in's answer, not the model's: close, not
equal. Where the heuristics cannot stand in, the steps that depend on that answer cannot be
planned; :attr:`JobPlan.stand_ins_refused` counts them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aexy.contract.completion import Usage
from aexy.contract.cost import format_usd
from aexy.cost import price, worst_case

if TYPE_CHECKING:
    from aexy.contract.cost import Cost, PriceRef
    from aexy.contract.tokens import TokenCount

__all__ = ["JobPlan", "PlannedCall"]


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One call a job would make: its input tokens (counted or estimated) and output cap."""

    analysis_type: str
    provider: str
    model: str
    ref: PriceRef | None
    tokens: TokenCount
    max_output_tokens: int
    #: Sent through the provider's batch API: priced at its batch rates.
    batch: bool = False

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"

    def cost_range(self) -> tuple[Cost, Cost]:
        """At least the input at its plain rate with no output; at most the worst case (the
        input at the dearer of the plain and cache-write rates, and the whole output cap)."""
        low = price(self.provider, self.model, Usage(self.tokens.tokens, 0), ref=self.ref,
                    batch=self.batch)
        high = worst_case(self.provider, self.model, self.tokens.tokens, self.max_output_tokens,
                          ref=self.ref, batch=self.batch)
        return low, high


class JobPlan:
    """What a dry run found: the analyses a job needs, those the cache holds, and the calls
    the rest would take."""

    def __init__(self) -> None:
        #: Analyses that reached the cache lookup (bad input is refused before).
        self.analyses = 0
        #: Analyses the cache holds, by tier.
        self.cached: Counter[str] = Counter()
        #: The same request again within the job: the real run answers it from the cache (or
        #: from the identical call in flight).
        self.repeats = 0
        self.calls: list[PlannedCall] = []
        #: Provider token counts that failed (those calls were estimated instead).
        self.count_failures = 0
        #: Analyses the offline heuristics could not stand in for: what depends on them is not
        #: in the plan.
        self.stand_ins_refused = 0
        #: Analyses a batch that an earlier run submitted holds: the real run reads their
        #: results, paying nothing more (``--batch-api``).
        self.in_batches = 0

    def cost_range(self) -> tuple[Decimal, Decimal, int, Counter[str]]:
        """The job's cost at least and at most (over the priced and local calls), how many
        calls are local, and the unpriced ones by ``provider/model``."""
        low = high = Decimal(0)
        unpriced: Counter[str] = Counter()
        local = 0
        for call in self.calls:
            floor, ceiling = call.cost_range()
            if ceiling.total_usd is None or floor.total_usd is None:
                unpriced[call.label] += 1
                continue
            local += ceiling.status == "local"
            low += floor.total_usd
            high += ceiling.total_usd
        return low, high, local, unpriced

    def summary(self) -> dict[str, Any]:
        """The plan in figures (what ``--dry-run --json`` prints)."""
        counted = [c for c in self.calls if not c.tokens.estimated]
        low, high, local, unpriced = self.cost_range()
        return {
            "analyses": self.analyses,
            "cached": sum(self.cached.values()),
            "cached_by_tier": dict(self.cached),
            "repeats": self.repeats,
            "to_send": len(self.calls),
            "by_model": dict(Counter(c.label for c in self.calls)),
            "input_tokens": sum(c.tokens.tokens for c in self.calls),
            "input_tokens_counted": sum(c.tokens.tokens for c in counted),
            "calls_counted": len(counted),
            "count_methods": sorted({c.tokens.method for c in self.calls}),
            "count_failures": self.count_failures,
            "max_output_tokens": sum(c.max_output_tokens for c in self.calls),
            "cost_low_usd": float(low),
            "cost_high_usd": float(high),
            "local_calls": local,
            "unpriced_calls": dict(unpriced),
            "stand_ins_refused": self.stand_ins_refused,
            "batch_calls": sum(c.batch for c in self.calls),
            "in_batches": self.in_batches,
        }

    def rows(self) -> list[tuple[str, str]]:
        """The plan as label and value rows, for people."""
        s = self.summary()
        tiers = ", ".join(f"{tier} {n}" for tier, n in sorted(s["cached_by_tier"].items()))
        models = ", ".join(f"{label} {n}" for label, n in sorted(s["by_model"].items()))
        rows = [("analyses", str(s["analyses"])),
                ("in the cache", f"{s['cached']}" + (f" ({tiers})" if tiers else "")),
                ("to send", f"{s['to_send']}" + (f" ({models})" if models else ""))]
        if s["in_batches"]:
            rows.append(("in earlier batches", f"{s['in_batches']} (submitted by an earlier "
                         "run: their results are read, not paid again)"))
        if s["repeats"]:
            rows.append(("repeated", f"{s['repeats']} (answered by the first of each)"))
        if self.calls:
            rows.append(("input tokens", _tokens(s, len(self.calls))))
            rows.append(("output tokens", f"up to {s['max_output_tokens']:,} (the output caps)"))
            batch = s["batch_calls"]
            rates = ("" if not batch else " at batch rates" if batch == len(self.calls)
                     else f" ({batch} calls at batch rates)")
            rows.append(("cost", _cost(*self.cost_range()) + rates))
        if s["stand_ins_refused"]:
            rows.append(("not planned", f"what depends on {s['stand_ins_refused']} "
                         "analyses the offline heuristics could not stand in for"))
        return rows


def _tokens(s: dict[str, Any], calls: int) -> str:
    total = f"{s['input_tokens']:,}"
    methods = "; ".join(s["count_methods"])
    failed = s["count_failures"]
    why = f"; the provider could not count {failed}" if failed else ""
    if s["calls_counted"] == calls:
        return f"{total} (counted: {methods})"
    if s["calls_counted"] == 0:
        return f"~{total} ({methods}{why})"
    return f"~{total} ({s['calls_counted']} of {calls} calls counted; {methods}{why})"


def _cost(low: Decimal, high: Decimal, local: int, unpriced: Counter[str]) -> str:
    priced = high > 0 or local
    parts = []
    if priced:
        parts.append("$0 (local)" if high == 0 else f"${format_usd(low)} to ${format_usd(high)}")
    if unpriced:
        n = sum(unpriced.values())
        parts.append(f"{n} unpriced call{'s' if n != 1 else ''} "
                     f"({', '.join(sorted(unpriced))})")
    return " + ".join(parts)
