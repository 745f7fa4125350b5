"""What a call costs, in US dollars, from a maintained price list.

Prices come from pydantic's ``genai-prices`` (MIT), imported on the first price asked for, never
from a table kept here. Every :class:`~aexy.contract.cost.Cost` says which list priced it
(``genai-prices 0.2.5``) and which of its models matched. Three outcomes, never confused:

* ``priced``: amounts for uncached input, output, prompt-cache reads and writes, and the total;
* ``local``: a provider that runs on this machine (``offline``, ``ollama``, ``llamacpp``):
  $0, labelled so;
* ``unpriced``: the price list does not know the model (or the provider): no amount at all,
  never $0. :attr:`Cost.reason` says why.

:func:`price` prices a finished call from its :class:`~aexy.completion.Usage`;
:func:`worst_case` prices a call before it is sent, for a budget (:mod:`aexy.budget`) or a dry
run; ``batch=True`` prices a provider's batch API. :class:`Charge` is one billed call kept
unpriced until someone reads its cost, and :class:`CostTally` sums many.

Speed: the library prices a call in about 150 us (it resolves units and decomposes the usage
generically on every call), more than the gateway's whole overhead per call. So each model's
rates are read from the library once (:class:`_RateCard`: the library's own price of probe
usages, per price tier and per set of active time-dependent prices) and a call is then priced
with a few multiplications, exactly as the library would (``tests/core/test_cost.py`` checks
every Anthropic and OpenAI model against it). Whatever the card cannot express (a price that is
not linear within a tier) goes through the library.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from aexy.contract.completion import Usage
from aexy.contract.cost import USD as USD
from aexy.contract.cost import Cost as Cost
from aexy.contract.cost import CostStatus as CostStatus
from aexy.contract.cost import PriceRef as PriceRef
from aexy.contract.cost import format_usd as format_usd

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "LOCAL_PROVIDERS",
    "PRICE_SOURCE",
    "Charge",
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

_ZERO = Decimal(0)

#: First-party providers (see :data:`aexy.errors.PROVIDER_PACKAGES`), for releases of them that
#: predate :meth:`~aexy.contract.provider.BaseLLMProvider.price_ref`.
_FIRST_PARTY = {
    "claude": PriceRef(provider_id="anthropic"),
    "openai": PriceRef(provider_id="openai"),
    **{name: PriceRef(local=True) for name in LOCAL_PROVIDERS},
}


def price_ref_for(provider: str) -> PriceRef | None:
    """The :class:`PriceRef` of a first-party provider, ``None`` for any other (a third-party
    provider says how it is priced itself, with ``price_ref()``; until it does, its calls are
    unpriced)."""
    return _FIRST_PARTY.get(provider)


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
        return Cost.local()
    library = _library()
    if isinstance(library, str):
        return Cost.unpriced(library)
    when = when if when is not None else datetime.now(UTC)
    card = _card(library, model, ref, batch, when)
    if isinstance(card, str):
        return Cost.unpriced(card)
    if card is not None:
        priced = card.price(usage)
        if priced is not None:
            return priced
    return _price_by_library(library, model, ref, batch, when, usage)


def _price_by_library(library: ModuleType, model: str, ref: PriceRef, batch: bool,
                      when: datetime, usage: Usage) -> Cost:
    """The library's own pricing, call by call (what the rate card reproduces)."""
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


# -- the rate card -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Rates:
    """Prices per million tokens within one price tier (as price lists state them, so that a
    part comes out as the library writes it: ``0.012``, not ``0.012000``), and the fixed price
    of a request."""

    request: Decimal
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal


_MTOK = Decimal(1_000_000)


class _RateCard:
    """One model's prices as the library gives them for one set of active time-dependent
    prices, read by pricing probe usages: within a tier, a price is linear in each count."""

    def __init__(self, calc: _Calculator, thresholds: tuple[int, ...], source: str,
                 priced_model: str, batch: bool) -> None:
        self._calc = calc
        self._thresholds = thresholds
        self._tiers: dict[int, _Rates] = {}
        self._source = source
        self._priced_model = priced_model
        self._batch = batch

    def _rates(self, tier: int) -> _Rates:
        found = self._tiers.get(tier)
        if found is None:
            calc = self._calc
            # A total input inside the tier (the library compares total input > tier start).
            n = 1 if tier == 0 else self._thresholds[tier - 1] + 1

            def per_mtok(amount: Decimal, tokens: int) -> Decimal:
                return (amount * _MTOK / tokens).normalize()

            request = calc(0, 0, 0, 0).total_price
            plain = calc(n, 0, 0, 0).total_price
            found = self._tiers[tier] = _Rates(
                request=request, input=per_mtok(plain - request, n),
                cache_read=per_mtok(calc(n, n, 0, 0).total_price - request, n),
                cache_write=per_mtok(calc(n, 0, n, 0).total_price - request, n),
                output=per_mtok(calc(n, 0, 0, 1).total_price - plain, 1))
        return found

    def price(self, usage: Usage) -> Cost | None:
        total_in, read = usage.input_tokens, usage.cache_read_tokens
        write, out = usage.cache_write_tokens, usage.output_tokens
        if min(total_in, read, write, out) < 0 or read + write > total_in:
            return None  # the library says what is wrong with the counts
        tier = sum(1 for t in self._thresholds if total_in > t)
        r = self._rates(tier)
        # count * price / 1M, as the library computes each part.
        input_usd = (total_in - read - write) * r.input / _MTOK
        read_usd, write_usd = read * r.cache_read / _MTOK, write * r.cache_write / _MTOK
        out_usd = out * r.output / _MTOK
        return Cost.model_construct(
            status="priced", input_usd=input_usd, output_usd=out_usd, cache_read_usd=read_usd,
            cache_write_usd=write_usd, total_usd=r.request + input_usd + read_usd + write_usd
            + out_usd, source=self._source, priced_model=self._priced_model, batch=self._batch,
            saved=False, reason=None)


#: (snapshot, model, ref, batch) -> (provider, model info) from the library, or why unpriced.
_FOUND: dict[tuple[Any, ...], tuple[Any, Any] | str] = {}
#: The same key and the active time-dependent prices -> the card (``None``: no card).
_CARDS: dict[tuple[Any, ...], _RateCard | None] = {}
_MAX_ENTRIES = 4096  # model names come from configuration, but never grow without bound


def _card(library: ModuleType, model: str, ref: PriceRef, batch: bool,
          when: datetime) -> _RateCard | str | None:
    """The rate card for this call, why the model is unpriced, or ``None`` when the library
    must price the call itself."""
    snapshot = library.data_snapshot.get_snapshot()
    key = (id(snapshot), model, ref, batch)
    found = _FOUND.get(key)
    if found is None:
        try:
            found = snapshot.find_provider_model(model, None, ref.provider_id, ref.api_url)
        except LookupError as exc:
            found = f"{PRICE_SOURCE} {library.__version__}: {exc}"
        except Exception:  # a library that changed shape: price through its public call
            return None
        if len(_FOUND) >= _MAX_ENTRIES:
            _FOUND.clear()
        _FOUND[key] = found
    if isinstance(found, str):
        return found
    try:
        active = _active_prices(found[1], when)
    except Exception:  # as above
        return None
    card_key = (*key, active)
    if card_key in _CARDS:
        return _CARDS[card_key]
    card = _new_card(library, model, ref, batch, when)
    if len(_CARDS) >= _MAX_ENTRIES:
        _CARDS.clear()
    _CARDS[card_key] = card
    return card


def _active_prices(info: Any, when: datetime) -> tuple[bool, ...]:
    """Which of a model's time-dependent prices apply at ``when``: together with the model and
    the request context, they decide the prices the library uses."""
    conditions = [] if not isinstance(info.prices, list) else [c.constraint for c in info.prices]
    conditions += [v.constraint for v in info.price_variants or ()]
    return tuple(c is None or c.active(when) for c in conditions)


def _new_card(library: ModuleType, model: str, ref: PriceRef, batch: bool,
              when: datetime) -> _RateCard | None:
    calc = _Calculator(library, model, ref, batch, when)
    try:
        probe = calc(1, 0, 0, 1)
    except (LookupError, ValueError):
        return None  # priced (and reported) by the library call by call
    thresholds: set[int] = set()
    for value in vars(probe.model_price).values():
        tiers = getattr(value, "tiers", None)
        if tiers is not None:
            thresholds.update(int(t.start) for t in tiers)
    return _RateCard(calc, tuple(sorted(thresholds)),
                     _source(library, probe.auto_update_timestamp), probe.model.id, batch)


_LIBRARY: ModuleType | str | None = None


def _library() -> ModuleType | str:
    """The price library, imported once (~0.3 s, so only when a price is asked for); or why it
    cannot be used."""
    global _LIBRARY
    if _LIBRARY is None:
        try:
            import genai_prices
            import genai_prices.data_snapshot
        except ImportError as exc:
            _LIBRARY = (f"{PRICE_SOURCE} is not installed ({exc.name}); "
                        "pip install --upgrade aexy-core")
        else:
            _LIBRARY = genai_prices
    return _LIBRARY


def _source(library: ModuleType, fetched: datetime | None) -> str:
    text = f"{PRICE_SOURCE} {library.__version__}"
    return text if fetched is None else f"{text} (prices fetched {fetched:%Y-%m-%d %H:%M})"


# -- charges and totals --------------------------------------------------------------------------
class Charge(NamedTuple):
    """One billed call, kept as counts and priced only when someone reads its cost (most
    callers never do, and pricing is the dearest step the gateway could add to a call). A
    named tuple: one is made per call, and a tuple is the cheapest record to make.

    :param at: when the call ended (``time.time()``), for prices that depend on the time.
    """

    provider: str
    model: str
    usage: Usage
    ref: PriceRef | None
    at: float
    batch: bool = False

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"

    def cost(self) -> Cost:
        return price(self.provider, self.model, self.usage, ref=self.ref, batch=self.batch,
                     when=datetime.fromtimestamp(self.at, UTC))


def total_cost(charges: list[Charge] | tuple[Charge, ...]) -> Cost | None:
    """What the calls cost together; ``None`` when there were none."""
    if not charges:
        return None
    total = charges[0].cost()
    for one in charges[1:]:
        total = total + one.cost()
    return total


class CostTally:
    """Running totals of many costs, for ``stats()``, a job's footer and OpenTelemetry: what
    was paid, what the cache saved, and how many calls were priced, local or unpriced (and of
    which models), so that a total is never shown as complete when some calls had no price."""

    def __init__(self) -> None:
        self.paid_usd = _ZERO
        #: Of what was paid, what a provider's batch API billed (at its batch rates).
        self.batch_usd = _ZERO
        self.saved_usd = _ZERO
        self.calls: Counter[str] = Counter()
        self.unpriced_models: Counter[str] = Counter()
        self.sources: set[str] = set()

    def add(self, cost: Cost, *, label: str = "", times: int = 1) -> None:
        """Count ``cost`` (``times`` over); ``label`` (``provider/model``) names an unpriced
        model."""
        self.calls[f"{cost.status}_saved" if cost.saved else cost.status] += times
        if cost.status == "unpriced":
            if not cost.saved:  # what a hit saved does not make the paid total incomplete
                self.unpriced_models[label or "?"] += times
            return
        if cost.source:
            self.sources.add(cost.source)
        assert cost.total_usd is not None
        if cost.saved:
            self.saved_usd += cost.total_usd * times
        else:
            self.paid_usd += cost.total_usd * times
            if cost.batch:
                self.batch_usd += cost.total_usd * times

    @property
    def complete(self) -> bool:
        """Every counted call had a price (or was local)."""
        return not self.unpriced_models

    def snapshot(self) -> dict[str, Any]:
        return {
            "paid_usd": float(self.paid_usd),
            "batch_usd": float(self.batch_usd),
            "saved_usd": float(self.saved_usd),
            "complete": self.complete,
            "calls": dict(self.calls),
            "unpriced_models": dict(self.unpriced_models),
            "sources": sorted(self.sources),
        }

    def summary(self) -> str:
        """One line for a job's footer: ``cost $0.4213 (saved $0.1200 by the cache)``, with
        what was paid at batch rates and the unpriced calls named."""
        parts = [f"cost ${format_usd(self.paid_usd)}"]
        if self.batch_usd and self.batch_usd == self.paid_usd:
            parts.append("at batch rates")
        elif self.batch_usd:
            parts.append(f"(${format_usd(self.batch_usd)} of it at batch rates)")
        if self.saved_usd:
            parts.append(f"(saved ${format_usd(self.saved_usd)} by the cache)")
        if self.unpriced_models:
            n = sum(self.unpriced_models.values())
            models = ", ".join(sorted(self.unpriced_models))
            parts.append(f"+ {n} unpriced call{'s' if n != 1 else ''} ({models})")
        return " ".join(parts)
