"""What a call costs, in US dollars, from a maintained price list.

Prices come from pydantic's ``genai-prices`` (MIT), imported on the first price asked for, never
from a table kept here. Every :class:`Cost` says which list priced it (``genai-prices 0.2.5``)
and which of its models matched. Three outcomes, never confused:

* ``priced``: amounts for uncached input, output, prompt-cache reads and writes, and the total;
* ``local``: a provider that runs on this machine (``offline``, ``ollama``, ``llamacpp``):
  $0, labelled so;
* ``unpriced``: the price list does not know the model (or the provider): no amount at all,
  never $0. :attr:`Cost.reason` says why.

:func:`price` prices a finished call from its :class:`~aexy.completion.Usage`;
:func:`worst_case` prices a call before it is sent, for a budget (:mod:`aexy.budget`) or a dry
run; ``batch=True`` prices a provider's batch API.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from aexy.contract.completion import Usage

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "LOCAL_PROVIDERS",
    "PRICE_SOURCE",
    "Cost",
    "CostTally",
    "PriceRef",
    "format_usd",
    "price",
    "price_ref_for",
    "worst_case",
]

#: The price library, by its distribution name.
PRICE_SOURCE = "genai-prices"

#: Providers that run on this machine: their calls cost nothing and are labelled ``local``.
LOCAL_PROVIDERS = frozenset({"offline", "ollama", "llamacpp"})

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


#: First-party providers (see :data:`aexy.errors.PROVIDER_PACKAGES`).
_FIRST_PARTY = {
    "claude": PriceRef(provider_id="anthropic"),
    "openai": PriceRef(provider_id="openai"),
    **{name: PriceRef(local=True) for name in LOCAL_PROVIDERS},
}


def price_ref_for(provider: str) -> PriceRef | None:
    """The :class:`PriceRef` of a first-party provider, ``None`` for any other (a third-party
    provider says how it is priced itself; until it does, its calls are unpriced)."""
    return _FIRST_PARTY.get(provider)


class Cost(BaseModel):
    """The cost of one call (or of the calls behind one result), in US dollars.

    ``total_usd`` is the price list's own total; it equals the sum of the four parts unless
    the model also charges per request. For ``unpriced`` every amount is ``None``.
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


def price(provider: str, model: str, usage: Usage, *, ref: PriceRef | None = None,
          batch: bool = False, when: datetime | None = None) -> Cost:
    """The cost of a call to ``provider``/``model`` that used ``usage``.

    :param ref: how the price list knows the provider; by default :func:`price_ref_for`.
    :param batch: priced at batch-API rates (the standard rates where the model has none).
    :param when: the time of the call, for prices that changed (default: now).
    """
    ref = ref if ref is not None else price_ref_for(provider)
    if ref is None:
        return Cost.unpriced(f"provider {provider!r} does not say how it is priced")
    if ref.local:
        return _LOCAL
    library = _library()
    if isinstance(library, str):
        return Cost.unpriced(library)
    calc = _Calculator(library, model, ref, batch, when)
    total_in, read, write = usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens
    try:
        full = calc(total_in, read, write, usage.output_tokens)
        # The parts of the input, at the tier the whole input reaches: the price of reading
        # (writing) R tokens is what R tokens add over being plain input.
        cache_read = cache_write = _ZERO
        if read or write:
            plain = calc(total_in, 0, 0, 0).input_price
            per_token = plain / total_in if total_in else _ZERO
            if read:
                cache_read = calc(total_in, read, 0, 0).input_price - plain + read * per_token
            if write:
                cache_write = calc(total_in, 0, write, 0).input_price - plain + write * per_token
    except (LookupError, ValueError) as exc:  # an unknown model or provider; bad counts
        return Cost.unpriced(f"{PRICE_SOURCE} {library.__version__}: {exc}")
    return Cost(status="priced", input_usd=full.input_price - cache_read - cache_write,
                output_usd=full.output_price, cache_read_usd=cache_read,
                cache_write_usd=cache_write, total_usd=full.total_price,
                source=_source(library, full.auto_update_timestamp),
                priced_model=full.model.id, batch=batch)


def worst_case(provider: str, model: str, input_tokens: int, max_output_tokens: int, *,
               ref: PriceRef | None = None, batch: bool = False,
               when: datetime | None = None) -> Cost:
    """The most a call may cost before it is sent: every input token at the dearer of the
    plain and the cache-write rate, and the whole output cap."""
    plain = price(provider, model, Usage(input_tokens, max_output_tokens), ref=ref,
                  batch=batch, when=when)
    if plain.status != "priced":
        return plain
    written = price(provider, model, Usage(input_tokens, max_output_tokens,
                                            cache_write_tokens=input_tokens),
                    ref=ref, batch=batch, when=when)
    assert plain.total_usd is not None
    if written.total_usd is not None and written.total_usd > plain.total_usd:
        return written
    return plain


class _Calculator:
    """``calc(input, cache read, cache write, output)`` for one model through the library."""

    def __init__(self, library: ModuleType, model: str, ref: PriceRef, batch: bool,
                 when: datetime | None) -> None:
        self._library = library
        self._model = model
        where: dict[str, Any] = ({"provider_api_url": ref.api_url} if ref.api_url else
                                 {"provider_id": ref.provider_id})
        if batch:
            where["price_context"] = {"processing": "batch"}
        if when is not None:
            where["genai_request_timestamp"] = when
        self._where = where

    def __call__(self, total_in: int, read: int, write: int, output: int) -> Any:
        library = self._library
        usage = library.Usage(input_tokens=total_in, cache_read_tokens=read,
                              cache_write_tokens=write, output_tokens=output)
        return library.calc_price(usage, self._model, **self._where)


_LIBRARY: ModuleType | str | None = None


def _library() -> ModuleType | str:
    """The price library, imported once (~0.3 s, so only when a price is asked for); or why it
    cannot be used."""
    global _LIBRARY
    if _LIBRARY is None:
        try:
            import genai_prices
        except ImportError as exc:
            _LIBRARY = (f"{PRICE_SOURCE} is not installed ({exc.name}); "
                        "pip install --upgrade aexy-core")
        else:
            _LIBRARY = genai_prices
    return _LIBRARY


def _source(library: ModuleType, fetched: datetime | None) -> str:
    text = f"{PRICE_SOURCE} {library.__version__}"
    return text if fetched is None else f"{text} (prices fetched {fetched:%Y-%m-%d %H:%M})"


class CostTally:
    """Running totals of many costs, for ``stats()``, a job's footer and OpenTelemetry: what
    was paid, what the cache saved, and how many calls were priced, local or unpriced (and of
    which models), so that a total is never shown as complete when some calls had no price."""

    def __init__(self) -> None:
        self.paid_usd = _ZERO
        self.saved_usd = _ZERO
        self.calls: Counter[str] = Counter()
        self.unpriced_models: Counter[str] = Counter()
        self.sources: set[str] = set()

    def add(self, cost: Cost, *, label: str = "") -> None:
        """Count ``cost``; ``label`` (``provider/model``) names an unpriced model."""
        self.calls[f"{cost.status}_saved" if cost.saved else cost.status] += 1
        if cost.status == "unpriced":
            if not cost.saved:  # what a hit saved does not make the paid total incomplete
                self.unpriced_models[label or "?"] += 1
            return
        if cost.source:
            self.sources.add(cost.source)
        assert cost.total_usd is not None
        if cost.saved:
            self.saved_usd += cost.total_usd
        else:
            self.paid_usd += cost.total_usd

    @property
    def complete(self) -> bool:
        """Every counted call had a price (or was local)."""
        return not self.unpriced_models

    def snapshot(self) -> dict[str, Any]:
        return {
            "paid_usd": float(self.paid_usd),
            "saved_usd": float(self.saved_usd),
            "complete": self.complete,
            "calls": dict(self.calls),
            "unpriced_models": dict(self.unpriced_models),
            "sources": sorted(self.sources),
        }

    def summary(self) -> str:
        """One line for a job's footer: ``cost $0.4213 (saved $0.1200 by the cache)``, with
        the unpriced calls named."""
        parts = [f"cost ${format_usd(self.paid_usd)}"]
        if self.saved_usd:
            parts.append(f"(saved ${format_usd(self.saved_usd)} by the cache)")
        if self.unpriced_models:
            n = sum(self.unpriced_models.values())
            models = ", ".join(sorted(self.unpriced_models))
            parts.append(f"+ {n} unpriced call{'s' if n != 1 else ''} ({models})")
        return " ".join(parts)
