"""``RedisBudgetLedger``: one budget shared by every process that uses the same Redis and the
same ``AEXY_BUDGET_NAME``.

The ledger is one Redis hash, ``<namespace>aexy:budget:{<name>}``, with two integer fields in
nano-dollars: ``spent`` (settled calls) and ``reserved`` (calls in flight). A reservation is one
Lua script that checks ``spent + reserved + amount <= limit`` and adds the amount in the same
step, so no two processes can both take the last dollar; a settlement moves an amount from
``reserved`` to ``spent`` in one script too.

* **A process killed mid-call** leaves its reservation counted: the budget errs on the side of
  spending less. The hash expires ``idle_ttl`` seconds after its last change (7 days by default),
  or is reset with :meth:`RedisBudgetLedger.reset`.
* **Redis unavailable**: a reservation fails (the core then refuses the call with a retryable
  ``budget_exceeded`` error: nothing is sent unbudgeted), and a settlement is kept in this
  process and sent before the next operation, so no spending is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from aexy.plugin_api import LedgerTotals
from aexy_redis.connection import RedisConnection, RedisUnavailableError, connect
from aexy_redis.settings import RedisSettings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.commands.core import AsyncScript

__all__ = ["RedisBudgetLedger", "budget_key"]

#: Seconds a ledger nobody touches is kept.
DEFAULT_IDLE_TTL = 7 * 86400

# KEYS: the hash. ARGV: amount, limit, idle ttl (ms). Returns {granted, spent, reserved}. The
# amounts are whole nano-dollars, exact in Lua's doubles up to $9 million; totals go back as
# Redis stores them (a Lua tostring would turn large ones into 1e+14).
_RESERVE = """
local s = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
local spent, reserved = tonumber(s[1]) or 0, tonumber(s[2]) or 0
if spent + reserved + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  return {0, s[1] or '0', s[2] or '0'}
end
reserved = redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
redis.call('HSETNX', KEYS[1], 'spent', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, s[1] or '0', reserved}
"""

# ARGV: reserved amount to take off, actual amount spent, idle ttl (ms).
# A ledger Redis lost meanwhile (a restart without persistence) has no reservation to take
# off: the reservations never go below zero, or they would make room that was never there.
_SETTLE = """
if redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(ARGV[1])) < 0 then
  redis.call('HSET', KEYS[1], 'reserved', 0)
end
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


def budget_key(namespace: str, name: str) -> str:
    """The hash of one budget. The braces make it a Redis Cluster hash tag (one slot)."""
    safe = name.replace("{", "(").replace("}", ")")
    return f"{namespace}aexy:budget:{{{safe}}}"


class RedisBudgetLedger:
    """A :class:`~aexy.budget.BudgetLedger` on Redis.

    :param name: ``AEXY_BUDGET_NAME``; processes with the same name share one budget.
    :param settings: ``REDIS_URL`` and ``AEXY_REDIS_*`` (read from the environment when
        omitted).
    :param connection: a :class:`RedisConnection` to share (then not closed by
        :meth:`aclose`).
    :param idle_ttl: seconds after its last change that the ledger is forgotten.
    """

    name = "redis"

    def __init__(self, name: str = "default", *, settings: RedisSettings | None = None,
                 connection: RedisConnection | None = None,
                 idle_ttl: float = DEFAULT_IDLE_TTL) -> None:
        self.budget_name = name
        self._owns_connection = connection is None
        self.connection = connection if connection is not None else connect(settings)
        self.key = budget_key(self.connection.settings.namespace, name)
        self._idle_ms = str(max(1, int(idle_ttl * 1000)))
        client = self.connection.client
        self._reserve: AsyncScript = client.register_script(_RESERVE)
        self._settle: AsyncScript = client.register_script(_SETTLE)
        #: Settlements Redis has not taken yet (it was unavailable), oldest first.
        self.pending: list[tuple[int, int]] = []
        self._sending = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RedisBudgetLedger({self.budget_name!r}, {self.connection.url!r})"

    async def _script(self, script: AsyncScript, *args: int | str, what: str) -> Any:
        argv = [str(a) for a in args]

        async def op(client: Redis | RedisCluster) -> Any:
            return await script(keys=[self.key], args=argv, client=client)

        return await self.connection.run(op, what=what)

    async def _flush(self) -> None:
        """Send the settlements not sent yet, in order, one sender at a time (each is sent
        once); stop at the first failure."""
        if not self.pending:
            return
        async with self._sending:
            while self.pending:
                reserved, actual = self.pending[0]
                await self._script(self._settle, reserved, actual, self._idle_ms,
                                   what="budget settle")
                self.pending.pop(0)

    # -- the BudgetLedger protocol ---------------------------------------------------------------
    async def reserve(self, amount: int, limit: int) -> tuple[bool, LedgerTotals]:
        """:raises RedisUnavailableError: Redis did not answer (nothing was reserved)."""
        await self._flush()
        granted, spent, reserved = await self._script(
            self._reserve, amount, limit, self._idle_ms, what="budget reserve")
        return bool(int(granted)), LedgerTotals(int(spent), int(reserved))

    async def settle(self, reserved: int, actual: int) -> None:
        self.pending.append((reserved, actual))
        with contextlib.suppress(RedisUnavailableError):  # kept; sent before the next operation
            await self._flush()

    async def totals(self) -> LedgerTotals:
        await self._flush()

        async def op(client: Redis | RedisCluster) -> list[Any]:
            return list(await client.hmget(self.key, ["spent", "reserved"]))

        spent, reserved = await self.connection.run(op, what="budget read")
        return LedgerTotals(int(spent or 0), int(reserved or 0))

    async def reset(self) -> None:
        """Forget this budget's spending and reservations (a new run under the same name)."""
        self.pending.clear()

        async def op(client: Redis | RedisCluster) -> Any:
            return await client.delete(self.key)

        await self.connection.run(op, what="budget reset")

    async def aclose(self) -> None:
        """Try once more to send kept settlements, then close (if this ledger opened the
        connection)."""
        with contextlib.suppress(RedisUnavailableError):
            await self._flush()  # if not, their reservations stay counted: never under
        if self._owns_connection:
            await self.connection.aclose()
