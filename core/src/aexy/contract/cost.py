"""What a call costs, as records: :class:`Cost` (in :attr:`Provenance.cost
<aexy.contract.analysis.Provenance.cost>`) and :class:`PriceRef` (how a provider tells the price
list who it is, from :meth:`BaseLLMProvider.price_ref
<aexy.contract.provider.BaseLLMProvider.price_ref>`). Pricing itself is :mod:`aexy.cost`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

__all__ = ["USD", "Cost", "CostStatus", "PriceRef", "format_usd"]

#: Exact in Python (sums of many calls stay exact), a plain number in JSON.
USD = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]

CostStatus = Literal["priced", "local", "unpriced"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PriceRef:
    """How the price list knows a provider.

    :param provider_id: the price list's provider id (``anthropic``, ``openai``, ``google``...).
    :param api_url: the API's base URL, for OpenAI-compatible servers: the price list knows
        many hosts by URL, and a URL it does not know (a server on localhost) is unpriced.
        Takes precedence over ``provider_id``.
    :param local: the provider runs on this machine; its calls cost nothing.
    """

    provider_id: str | None = None
    api_url: str | None = None
    local: bool = False


class Cost(BaseModel):
    """The cost of one call (or of the calls behind one result), in US dollars.

    Three outcomes, never confused: ``priced`` (amounts for uncached input, output, prompt-cache
    reads and writes, and the total), ``local`` (a provider on this machine: $0, labelled so) and
    ``unpriced`` (the price list does not know the model: no amount at all, never $0;
    :attr:`reason` says why). ``total_usd`` is the price list's own total; it equals the sum of
    the four parts unless the model also charges per request.
    """

    model_config = ConfigDict(frozen=True)

    status: CostStatus
    input_usd: USD | None = None
    output_usd: USD | None = None
    cache_read_usd: USD | None = None
    cache_write_usd: USD | None = None
    total_usd: USD | None = None
    #: The price list that priced it, with its version (``genai-prices 0.2.5``), and, when
    #: its prices were fetched at run time, from when.
    source: str | None = None
    #: The price list's id of the model that matched (``claude-sonnet-4-5``).
    priced_model: str | None = None
    #: Priced at the provider's batch-API rates.
    batch: bool = False
    #: Not paid: what a cache hit or a coalesced call would have cost (and so saved).
    saved: bool = False
    #: Why it is ``unpriced``.
    reason: str | None = None

    @classmethod
    def local(cls) -> Cost:
        return _LOCAL

    @classmethod
    def unpriced(cls, reason: str) -> Cost:
        return cls(status="unpriced", reason=reason)

    def as_saved(self) -> Cost:
        """The same amounts, marked as not paid (a cache hit reports the cost it saved)."""
        return self if self.saved else self.model_copy(update={"saved": True})

    def __add__(self, other: Cost) -> Cost:
        """Two calls behind one result (a repair re-ask, a retry that was billed): unpriced if
        either is, local if both are, else the sums."""
        if not isinstance(other, Cost):
            return NotImplemented
        if self.status == "unpriced" or other.status == "unpriced":
            return self if self.status == "unpriced" else other
        if self.status == other.status == "local":
            return self
        parts = {name: getattr(self, name) + getattr(other, name) for name in _AMOUNTS}
        return Cost(status="priced", **parts,
                    source=self.source if self.source == other.source or not other.source
                    else other.source if not self.source else f"{self.source}; {other.source}",
                    priced_model=self.priced_model or other.priced_model,
                    batch=self.batch and other.batch, saved=self.saved and other.saved)

    def __str__(self) -> str:
        if self.status == "unpriced":
            return "unpriced"
        if self.status == "local":
            return "$0 (local)"
        assert self.total_usd is not None
        return f"${format_usd(self.total_usd)}" + (" saved" if self.saved else "")


_AMOUNTS = ("input_usd", "output_usd", "cache_read_usd", "cache_write_usd", "total_usd")

_LOCAL = Cost(status="local", input_usd=_ZERO, output_usd=_ZERO, cache_read_usd=_ZERO,
              cache_write_usd=_ZERO, total_usd=_ZERO)


def format_usd(amount: Decimal) -> str:
    """An amount for people: cents from a dollar up, four significant digits below
    (``12.30``, ``0.04213``, ``0``), never in exponent notation."""
    if amount >= 1 or (amount >= Decimal("0.01") and amount == round(amount, 2)):
        return f"{amount:.2f}"
    if not amount:
        return "0"
    return f"{float(amount):.4g}" if amount >= Decimal("0.0001") else f"{amount:.8f}"
