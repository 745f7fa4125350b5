"""Budgets: nothing is sent that could take the spending past ``AEXY_BUDGET_USD``.

Before each call its worst case (:func:`aexy.cost.worst_case`: the input at the dearest input
rate plus the whole output cap) is **reserved** on a ledger, atomically against what is spent
and what calls in flight have reserved. A call that does not fit is refused with
:class:`~aexy.errors.BudgetExceededError` (code ``budget_exceeded``) before anything is sent.
When the call ends its reservation is **settled** with the actual cost, or **released** when
nothing was billed. A call whose outcome is unknown (a timeout, a cancellation) keeps its whole
reservation as spent: the budget errs on the side of spending less, never more.

A model without a known price is refused under a budget unless ``AEXY_BUDGET_ALLOW_UNPRICED``
is set (then its calls go through uncounted); local providers cost nothing and are never refused.

The ledger is in-process (:class:`LocalLedger`: one gateway's run) or shared by every process
(``aexy-redis``'s ledger: one Lua script per reservation, keyed by ``AEXY_BUDGET_NAME``).
Amounts on a ledger are whole nano-dollars, rounded up, so that sums are exact everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from aexy.contract.budget import BudgetLedger as BudgetLedger
from aexy.contract.budget import BudgetLedgerSpec as BudgetLedgerSpec
from aexy.contract.budget import LedgerTotals as LedgerTotals
from aexy.contract.cost import format_usd
from aexy.errors import BudgetExceededError
from aexy.log import logger

if TYPE_CHECKING:
    from aexy.contract.cost import Cost
    from aexy.settings import AexySettings

__all__ = [
    "Budget",
    "BudgetLedger",
    "BudgetLedgerSpec",
    "LedgerTotals",
    "LocalLedger",
    "Reservation",
    "from_nanos",
    "to_nanos",
]

_NANO = Decimal("1e-9")
_PER_DOLLAR = Decimal(10**9)


def to_nanos(usd: Decimal) -> int:
    """Whole nano-dollars, rounded up (a reservation is never smaller than the price)."""
    return int((usd / _NANO).to_integral_value(rounding=ROUND_CEILING))


def from_nanos(nanos: int) -> Decimal:
    return Decimal(nanos) / _PER_DOLLAR  # a division reads 0.0315, not 0.031500000


class LocalLedger:
    """A ledger in this process: one budget for one gateway (or whatever shares the object).
    Each method completes without awaiting, so it is atomic for the event loop."""

    name = "local"

    def __init__(self) -> None:
        self._spent = 0
        self._reserved = 0

    async def reserve(self, amount: int, limit: int) -> tuple[bool, LedgerTotals]:
        if self._spent + self._reserved + amount > limit:
            return False, LedgerTotals(self._spent, self._reserved)
        self._reserved += amount
        return True, LedgerTotals(self._spent, self._reserved)

    async def settle(self, reserved: int, actual: int) -> None:
        self._reserved -= reserved
        self._spent += actual

    async def totals(self) -> LedgerTotals:
        return LedgerTotals(self._spent, self._reserved)

    async def aclose(self) -> None:
        return None


@dataclass(eq=False, slots=True)
class Reservation:
    """One call's hold on the budget, until :meth:`Budget.settle` or :meth:`Budget.release`.
    ``amount`` is 0 for a call that is not counted (local, or unpriced and allowed)."""

    label: str
    amount: int
    cost: Cost
    done: bool = field(default=False)


class Budget:
    """A spending limit over a ledger.

    :param limit_usd: the most that may be spent.
    :param ledger: where spending is kept; a new :class:`LocalLedger` when omitted.
    :param allow_unpriced: let calls to models without a known price through, uncounted.
    :param setting: the variable that set the limit, named in refusals.
    """

    def __init__(self, limit_usd: Decimal, *, ledger: BudgetLedger | None = None,
                 allow_unpriced: bool = False, setting: str = "AEXY_BUDGET_USD") -> None:
        if limit_usd < 0:
            raise ValueError(f"a budget cannot be negative, got {limit_usd}")
        self.limit_usd = limit_usd
        self.limit = to_nanos(limit_usd)
        self.ledger: BudgetLedger = ledger if ledger is not None else LocalLedger()
        self.allow_unpriced = allow_unpriced
        self.setting = setting
        self.refused = 0
        self.unpriced_calls = 0
        self.overruns = 0  # settlements above their reservation (the worst case was not)
        #: What this object settled and holds now, in nano-dollars (the ledger may hold more:
        #: other processes' spending on a shared one).
        self.settled_here = 0
        self.held_here = 0

    @classmethod
    def from_settings(cls, settings: AexySettings, *,
                      ledger: BudgetLedger | None = None) -> Budget | None:
        """The budget ``AEXY_BUDGET_USD`` sets, or ``None`` when it is unset."""
        if settings.budget_usd is None:
            return None
        return cls(settings.budget_usd, ledger=ledger,
                   allow_unpriced=settings.budget_allow_unpriced)

    def __repr__(self) -> str:
        return f"Budget(limit_usd={self.limit_usd}, ledger={self.ledger.name!r})"

    async def reserve(self, label: str, worst: Cost) -> Reservation:
        """Hold ``worst`` (the call's :func:`~aexy.cost.worst_case`) for the call to ``label``
        (``provider/model``).

        :raises BudgetExceededError: it does not fit, its model is unpriced (and that is not
            allowed), or the shared ledger did not answer (``retryable``). Nothing was sent.
        """
        provider, _, model = label.partition("/")
        if worst.status == "local":
            return Reservation(label, 0, worst)
        if worst.status == "unpriced":
            if self.allow_unpriced:
                self.unpriced_calls += 1
                return Reservation(label, 0, worst)
            self.refused += 1
            raise BudgetExceededError(
                f"{label} has no known price ({worst.reason}), and under a budget "
                f"({self.setting}) an unpriced model is refused; set "
                "AEXY_BUDGET_ALLOW_UNPRICED=true to let its calls through uncounted. "
                "Nothing was sent.", provider=provider, model=model,
                limit_usd=self.limit_usd, setting="AEXY_BUDGET_ALLOW_UNPRICED")
        assert worst.total_usd is not None
        amount = to_nanos(worst.total_usd)
        try:
            granted, seen = await self.ledger.reserve(amount, self.limit)
        except Exception as exc:  # the shared ledger is down: nothing may be sent unbudgeted
            self.refused += 1
            raise BudgetExceededError(
                f"the {self.ledger.name} budget ledger did not answer ({type(exc).__name__}: "
                f"{exc}); nothing was sent", provider=provider, model=model,
                limit_usd=self.limit_usd, needed_usd=worst.total_usd, setting=self.setting,
                retryable=True, retry_after=getattr(exc, "retry_in", None) or None) from None
        if not granted:
            self.refused += 1
            spent, reserved = from_nanos(seen.spent), from_nanos(seen.reserved)
            raise BudgetExceededError(
                f"the budget of ${format_usd(self.limit_usd)} ({self.setting}) has "
                f"${format_usd(spent)} spent and ${format_usd(reserved)} held by calls in "
                f"flight; this call to {label} may cost up to ${format_usd(worst.total_usd)}. "
                "Nothing was sent.", provider=provider,
                model=model, limit_usd=self.limit_usd, spent_usd=spent, reserved_usd=reserved,
                needed_usd=worst.total_usd, setting=self.setting)
        self.held_here += amount
        return Reservation(label, amount, worst)

    async def settle(self, reservation: Reservation, actual: Cost | None) -> None:
        """End a reservation with what the call cost; ``None`` when that is unknown (a timeout,
        a cancellation): the whole reservation is then counted as spent."""
        if reservation.done:
            return
        reservation.done = True
        spent = reservation.amount if actual is None or actual.total_usd is None else \
            to_nanos(actual.total_usd)
        if spent == reservation.amount == 0:
            return  # local, or unpriced and allowed: nothing to count
        self.held_here -= reservation.amount
        self.settled_here += spent
        if spent > reservation.amount:
            self.overruns += 1
            logger.warning("a call to %s cost more than its reserved worst case", reservation.label,
                           extra={"reserved_usd": float(from_nanos(reservation.amount)),
                                  "actual_usd": float(from_nanos(spent))})
        await self.ledger.settle(reservation.amount, spent)

    async def record(self, label: str, actual: Cost) -> None:
        """Count spending this budget never reserved: a batch submitted by an earlier run,
        whose results this run reads. It was committed then, so it is never refused now."""
        if actual.total_usd is None or actual.status != "priced":
            return
        spent = to_nanos(actual.total_usd)
        self.settled_here += spent
        await self.ledger.settle(0, spent)
        logger.debug("counted %s of an earlier run's batch to %s", actual, label)

    async def release(self, reservation: Reservation) -> None:
        """End a reservation for a call that was not billed (never sent, or refused by the API
        with an error before any generation)."""
        if reservation.done:
            return
        reservation.done = True
        if reservation.amount:
            self.held_here -= reservation.amount
            await self.ledger.settle(reservation.amount, 0)

    async def totals(self) -> tuple[Decimal, Decimal]:
        """``(spent, reserved)`` in US dollars, as the ledger holds them now."""
        seen = await self.ledger.totals()
        return from_nanos(seen.spent), from_nanos(seen.reserved)

    def local_snapshot(self) -> dict[str, Any]:
        """What this process knows without asking the ledger (``LLMGateway.stats()``)."""
        return {"limit_usd": float(self.limit_usd), "ledger": self.ledger.name,
                "setting": self.setting, "spent_here_usd": float(from_nanos(self.settled_here)),
                "held_here_usd": float(from_nanos(self.held_here)), "refused": self.refused,
                "unpriced_calls": self.unpriced_calls, "overruns": self.overruns}

    async def snapshot(self) -> dict[str, Any]:
        """For ``stats()`` and a job's footer."""
        out: dict[str, Any] = {"limit_usd": float(self.limit_usd), "ledger": self.ledger.name,
                               "refused": self.refused, "unpriced_calls": self.unpriced_calls,
                               "overruns": self.overruns}
        try:
            spent, reserved = await self.totals()
        except Exception as exc:  # a figure we cannot read is said so, not made up
            out["error"] = f"{type(exc).__name__}: {exc}"
        else:
            out.update(spent_usd=float(spent), reserved_usd=float(reserved),
                       remaining_usd=float(max(self.limit_usd - spent - reserved, Decimal(0))))
        return out

    async def aclose(self) -> None:
        await self.ledger.aclose()
