"""The budget ledger a plugin implements (a store every process shares, such as aexy-redis's),
and the record it registers it with. Amounts are whole nano-dollars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["BudgetLedger", "BudgetLedgerSpec", "LedgerTotals"]


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """What a ledger holds, in nano-dollars: settled spending, and reservations in flight."""

    spent: int = 0
    reserved: int = 0


@runtime_checkable
class BudgetLedger(Protocol):
    """Where a budget's spending is kept. Each method is atomic on the ledger's store."""

    #: ``local`` or the plugin's name (``redis``), shown in ``stats()``.
    name: str

    async def reserve(self, amount: int, limit: int) -> tuple[bool, LedgerTotals]:
        """If ``spent + reserved + amount <= limit``, add ``amount`` to ``reserved``. Returns
        whether it did, and the totals it saw (after the reservation when granted)."""
        ...

    async def settle(self, reserved: int, actual: int) -> None:
        """Take ``reserved`` off the reservations and add ``actual`` to the spending."""
        ...

    async def totals(self) -> LedgerTotals:
        ...

    async def aclose(self) -> None:
        ...


@dataclass(frozen=True, slots=True)
class BudgetLedgerSpec:
    """What a ``register_budget_ledgers`` hook returns (the shared ledger of ``aexy-redis``).

    :param factory: ``factory(name, settings) -> BudgetLedger``: ``name`` is
        ``AEXY_BUDGET_NAME``, ``settings`` an instance of ``settings_class`` (or the core's).
    """

    name: str
    factory: Callable[[str, Any], BudgetLedger]
    description: str = ""
    settings_class: type | None = None
