"""``RedisRateLimiter``: one requests/period and tokens/period budget per provider account,
shared by every process that uses the same Redis (``AEXY_RATE_LIMITER=redis``).

It is the core's ``local`` limiter (``aexy.ratelimit.LocalRateLimiter``) with its two token
buckets kept in one Redis hash and changed only by atomic Lua scripts, so processes queue
behind each other exactly as tasks of one process do:

* **wait in turn**: a reservation is taken at once, into debt if need be; the caller then
  sleeps until the debt is repaid. Every reservation is behind every earlier one, in the order
  they reached Redis (FIFO across processes).
* **deadline**: when the turn would come after ``max_wait``, the script takes nothing and the
  call fails at once with :class:`~aexy.ratelimit.RateLimitWaitError`.
* **reconciliation**: the real usage corrects the token bucket, and the hash's ``shift`` moves
  every waiter's turn by the same amount (later for a charge, earlier for a refund). Waiters in
  this process hear of it at once; waiters elsewhere within ``recheck`` seconds.
* **slow answers**: the limiter waits up to ``AEXY_REDIS_LIMITER_TIMEOUT`` (1 s) for Redis to
  answer: a slow answer is still a reservation in the shared budget, never a reason to hand
  out calls from elsewhere.
* **outage**: while Redis is unavailable (down, unreachable, slower than that, or refusing the
  script, as a full Redis with ``noeviction`` does) each process falls back to a ``local``
  limiter holding ``AEXY_REDIS_LIMITER_FALLBACK_SHARE`` of each limit. Its buckets start from
  that share of what Redis last reported left (empty if it never answered), not full, and refill
  at that share of the rate; so N processes at share 1/N admit together no more than the shared
  bucket would have. When Redis answers again, its first reservation brings the shared bucket
  down to what the local buckets hold together, estimated as N times this process's own (a
  minimum, so processes returning one after another never charge the same calls twice): the
  calls granted locally are not granted again by a bucket that refilled, or restarted empty,
  meanwhile.

Time in the buckets is Redis's own clock (``TIME``), the one clock all machines share; tests
pass ``now=`` (a virtual clock) instead. The bucket hash expires once both buckets are full again.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from aexy.plugin_api import (
    IncidentLog,
    LocalRateLimiter,
    RateLimits,
    RateLimitWaitError,
    TokenBucket,
)
from aexy_redis.connection import RedisConnection, RedisUnavailableError, connect
from aexy_redis.settings import RedisSettings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.commands.core import AsyncScript

    from aexy.plugin_api import Clock, Sleep

__all__ = ["RedisRateLimiter", "limiter_key"]

T = TypeVar("T")

# Shared by the three scripts: the bucket time, and refilling a bucket up to its capacity.
# Numbers cross the Lua boundary as strings (%.17g): Redis truncates Lua numbers to integers.
_PRELUDE = """
local key = KEYS[1]
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local function f(x) return string.format('%.17g', x) end
local function refill(level, updated, rate, cap)
  if level == nil or updated == nil then return cap, now end
  if rate > 0 and now > updated then level = math.min(cap, level + (now - updated) * rate) end
  return level, math.max(updated, now)
end
local function full_in(level, rate, cap)
  if rate <= 0 then return 0 end
  return (cap - level) / rate
end
"""

# ARGV: now, request rate/s, request capacity, token rate/s, token capacity, tokens, max wait
# ('' = none), then the most each bucket may hold after an outage ('' = no bound), applied
# first (a lower token level moves the queue, as a charge in reconciliation does). Returns
# {1, request wait, token wait, shift, requests left, tokens left} or
# {0, turn, shift, requests left, tokens left} (refused).
_ACQUIRE = _PRELUDE + """
local rr, rc = tonumber(ARGV[2]), tonumber(ARGV[3])
local tr, tc = tonumber(ARGV[4]), tonumber(ARGV[5])
local amount = tonumber(ARGV[6])
local br, bt = tonumber(ARGV[8]), tonumber(ARGV[9])
local s = redis.call('HMGET', key, 'rl', 'ru', 'tl', 'tu', 'ts')
local rl, ru = refill(tonumber(s[1]), tonumber(s[2]), rr, rc)
local tl, tu = refill(tonumber(s[3]), tonumber(s[4]), tr, tc)
local shift = tonumber(s[5]) or 0
local bounded = false
if rr > 0 and br and rl > br then rl, bounded = br, true end
if tr > 0 and bt and tl > bt then
  shift = shift + (tl - bt) / tr
  tl, bounded = bt, true
end
local function save(r, t)
  redis.call('HSET', key, 'rl', f(r), 'ru', f(ru), 'tl', f(t), 'tu', f(tu), 'ts', f(shift))
  local idle = math.max(full_in(r, rr, rc), full_in(t, tr, tc))
  redis.call('PEXPIRE', key, math.ceil(idle * 1000) + 1000)
end
local rw, tw = 0, 0
local nrl, ntl = rl, tl
if rr > 0 then
  nrl = rl - 1
  if nrl < 0 then rw = -nrl / rr end
end
if tr > 0 then
  ntl = tl - amount
  if ntl < 0 then tw = -ntl / tr end
end
local turn = math.max(rw, tw)
if ARGV[7] ~= '' and turn > 1e-9 and turn > tonumber(ARGV[7]) then
  if bounded then save(rl, tl) end
  return {0, f(turn), f(shift), f(rl), f(tl)}
end
save(nrl, ntl)
return {1, f(rw), f(tw), f(shift), f(nrl), f(ntl)}
"""

# A reservation refused after waiting (deadline) or cancelled goes back; nobody's turn moves.
# ARGV: now, request rate/s, request capacity, token rate/s, token capacity, tokens.
_UNRESERVE = _PRELUDE + """
if redis.call('EXISTS', key) == 0 then return 0 end
local rr, rc = tonumber(ARGV[2]), tonumber(ARGV[3])
local tr, tc = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', key, 'rl', 'ru', 'tl', 'tu')
local rl, ru = refill(tonumber(s[1]), tonumber(s[2]), rr, rc)
local tl, tu = refill(tonumber(s[3]), tonumber(s[4]), tr, tc)
if rr > 0 then rl = math.min(rc, rl + 1) end
if tr > 0 then tl = math.min(tc, tl + tonumber(ARGV[6])) end
redis.call('HSET', key, 'rl', f(rl), 'ru', f(ru), 'tl', f(tl), 'tu', f(tu))
return 1
"""

# Correct past usage by delta tokens (positive: give back); the queue moves by the seconds of
# budget actually changed. ARGV: now, token rate/s, token capacity, delta. Returns the shift.
_RECONCILE = _PRELUDE + """
local tr, tc = tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', key, 'tl', 'tu', 'ts')
local tl, tu = refill(tonumber(s[1]), tonumber(s[2]), tr, tc)
local shift = tonumber(s[3]) or 0
local before = tl
tl = math.min(tc, tl + tonumber(ARGV[4]))
shift = shift - (tl - before) / tr
redis.call('HSET', key, 'tl', f(tl), 'tu', f(tu), 'ts', f(shift))
local ttl = redis.call('PTTL', key)
local idle = math.ceil(full_in(tl, tr, tc) * 1000) + 1000
if ttl < idle then redis.call('PEXPIRE', key, idle) end
return f(shift)
"""

# What is available now, without taking anything. ARGV: now, rr, rc, tr, tc.
_LEVELS = _PRELUDE + """
local rr, rc = tonumber(ARGV[2]), tonumber(ARGV[3])
local tr, tc = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', key, 'rl', 'ru', 'tl', 'tu', 'ts')
local rl = refill(tonumber(s[1]), tonumber(s[2]), rr, rc)
local tl = refill(tonumber(s[3]), tonumber(s[4]), tr, tc)
return {f(rl), f(tl), f(tonumber(s[5]) or 0)}
"""


def limiter_key(namespace: str, name: str) -> str:
    """The hash of one limiter. The braces make it a Redis Cluster hash tag (one slot). It is
    outside the cache's ``aexy:`` prefix, so clearing or counting the cache never touches it."""
    safe = name.replace("{", "(").replace("}", ")")
    return f"{namespace}aexy-ratelimit:{{{safe}}}"


class RedisRateLimiter:
    """A :class:`~aexy.ratelimit.RateLimiter` shared through Redis.

    :param name: ``"provider/model"``; processes using the same name (and Redis, and
        ``AEXY_REDIS_NAMESPACE``) share one budget.
    :param limits: ``None`` in either field means that dimension is unlimited. Every process
        should be configured with the same limits.
    :param clock: measures this process's waits (the gateway's clock).
    :param sleep: the gateway's async sleep.
    :param now: the buckets' clock; ``None`` (the default) uses Redis's ``TIME``. Every process
        sharing the limiter must share this clock: only tests pass one.
    :param period: the window the limits refer to: 60 s for "per minute"; shorter in tests.
    :param burst: bucket capacity as a multiple of the per-period limit, as for ``local``.
    :param recheck: seconds between two looks at reconciliations made by other processes
        while waiting (default: period / 60, at least 50 ms).
    :param connection: a :class:`RedisConnection`; built from ``settings`` when omitted (and
        then closed by :meth:`aclose`).
    """

    def __init__(self, name: str, limits: RateLimits, *, clock: Clock | None = None,
                 sleep: Sleep | None = None, now: Clock | None = None, period: float = 60.0,
                 burst: float = 1.0, recheck: float | None = None,
                 settings: RedisSettings | None = None,
                 connection: RedisConnection | None = None) -> None:
        if period <= 0 or burst <= 0:
            raise ValueError("period and burst must be positive")
        self.name = name
        self.limits = limits
        self._clock: Clock = clock if clock is not None else time.monotonic
        self._sleep: Sleep = sleep if sleep is not None else asyncio.sleep
        self._now = now
        self.period = period
        self.recheck = recheck if recheck is not None else max(period / 60, 0.05)
        self._owns_connection = connection is None
        if connection is None:
            settings = settings if settings is not None else RedisSettings()
            # Its own pool, with the limiter's longer timeout: a slow answer is not an outage.
            connection = connect(settings, clock=self._clock,
                                 timeout=max(settings.timeout, settings.limiter_timeout),
                                 timeout_setting="AEXY_REDIS_LIMITER_TIMEOUT")
        self.connection = connection
        self.key = limiter_key(self.connection.settings.namespace, name)
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        self._rr, self._rc = (rpm / period, rpm * burst) if rpm else (0.0, 0.0)
        self._tr, self._tc = (tpm / period, tpm * burst) if tpm else (0.0, 0.0)
        self.share = share = self.connection.settings.limiter_fallback_share
        self.fallback = LocalRateLimiter(
            name, RateLimits(rpm * share if rpm else None,
                             max(1, int(tpm * share)) if tpm else None),
            clock=self._clock, sleep=self._sleep, period=period, burst=burst)
        #: What Redis last reported left (requests, tokens) and when (this process's clock):
        #: the local fallback starts from its share of it. Unknown: nothing is assumed left.
        self._last_levels: tuple[float, float, float] | None = None
        #: Why calls are being granted locally now (``None``: through Redis).
        self.fallback_reason: str | None = None
        self._incident = IncidentLog(f"Redis for the rate limiter of {name}", clock=self._clock)
        client = self.connection.client
        self._acquire: AsyncScript = client.register_script(_ACQUIRE)
        self._unreserve_script: AsyncScript = client.register_script(_UNRESERVE)
        self._reconcile_script: AsyncScript = client.register_script(_RECONCILE)
        self._levels_script: AsyncScript = client.register_script(_LEVELS)
        self._pending: set[asyncio.Future[Any]] = set()
        self._changed: asyncio.Event | None = None
        self._local_outstanding = 0  # calls granted by the fallback, not yet reconciled
        self.granted = 0  # reservations Redis granted (immediate or after a wait)
        self.waits = 0
        self.waited_s = 0.0
        self.rejected = 0
        self.reconciled = 0
        self.reconcile_delta = 0
        self.fallback_calls = 0

    def __repr__(self) -> str:
        return f"RedisRateLimiter({self.name!r}, {self.connection.url!r})"

    # -- helpers -------------------------------------------------------------------------------
    def _time_arg(self) -> str:
        return "" if self._now is None else repr(float(self._now()))

    async def _script(self, script: AsyncScript, *args: float | str, what: str) -> Any:
        argv = [self._time_arg(), *(a if isinstance(a, str) else repr(float(a)) for a in args)]

        async def op(client: Redis | RedisCluster) -> Any:
            return await script(keys=[self.key], args=argv, client=client)

        return await self.connection.run(op, what=what)

    def _clamp(self, tokens: int) -> float:
        return min(float(tokens), self._tc) if self._tr else 0.0

    def _refused(self, turn: float, waited: float, max_wait: float) -> RateLimitWaitError:
        self.rejected += 1
        return RateLimitWaitError(
            f"redis rate limit of {self.name}: the next slot is {turn:.2f}s away, after the "
            f"deadline ({max_wait:.2f}s left); raise the limit or the deadline "
            "(AEXY_DEADLINE_SECONDS)", wait=max(0.0, turn - waited))

    def _track(self, future: asyncio.Future[T]) -> asyncio.Future[T]:
        """Keep ``future`` in :attr:`_pending` until it is done (:meth:`flush` waits for it)."""
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def _spawn(self, coro: Awaitable[None]) -> None:
        self._track(asyncio.ensure_future(coro))

    # -- the RateLimiter protocol --------------------------------------------------------------
    async def acquire(self, tokens: int, *, max_wait: float | None = None) -> float:
        amount = self._clamp(tokens)
        limit = "" if max_wait is None or not math.isfinite(max_wait) else repr(float(max_wait))
        taking = self._track(asyncio.ensure_future(self._script(
            self._acquire, self._rr, self._rc, self._tr, self._tc, amount, limit,
            *self._bounds_after_fallback(), what="rate limiter acquire")))
        try:
            reply = await asyncio.shield(taking)
        except RedisUnavailableError as exc:
            return await self._acquire_locally(tokens, max_wait, exc)
        except asyncio.CancelledError:
            # Cancelled while Redis was deciding: give back whatever it grants.
            taking.add_done_callback(lambda t: self._give_back_if_granted(t, amount))
            raise
        self._redis_answered(reply)
        if int(reply[0]) == 0:
            assert max_wait is not None
            raise self._refused(float(reply[1]), 0.0, max_wait)
        self.granted += 1
        request_wait, token_wait, shift0 = (float(x) for x in reply[1:4])
        if request_wait <= 0 and token_wait <= 0:
            return 0.0
        start = self._clock()
        shift = shift0
        self.waits += 1
        while True:
            turn = max(request_wait, token_wait + (shift - shift0))
            waited = self._clock() - start
            remaining = turn - waited
            if remaining <= 1e-9:
                self.waited_s += waited
                return waited
            if max_wait is not None and turn > max_wait:
                self.waited_s += waited
                await self._give_back(amount)
                raise self._refused(turn, waited, max_wait)
            try:
                if self._tr:  # only the token bucket's queue can move while waiting
                    if await self._sleep_or_correction(min(remaining, self.recheck)):
                        await self.flush()  # our own reconciliation is on its way: wait for it
                        shift = await self._read_shift(shift)
                    elif remaining > self.recheck:  # a look at other processes' corrections
                        shift = await self._read_shift(shift)
                else:
                    await self._sleep(remaining)
            except asyncio.CancelledError:
                self._spawn(self._give_back(amount))
                raise

    def _give_back_if_granted(self, taking: asyncio.Future[Any], amount: float) -> None:
        if not taking.cancelled() and taking.exception() is None and int(taking.result()[0]):
            self._spawn(self._give_back(amount))

    async def _acquire_locally(self, tokens: int, max_wait: float | None,
                               error: RedisUnavailableError) -> float:
        """When Redis fails: the process's own share of the limits, starting from its share
        of what Redis last reported left."""
        if self.fallback_reason is None:
            self._start_fallback()
        self.fallback_reason = str(error)
        self._incident.failed("failed (%s); this process grants calls from its local share of "
                              "the limits until it answers again", error,
                              extra={"limiter": self.name})
        self.fallback_calls += 1
        waited = await self.fallback.acquire(tokens, max_wait=max_wait)
        if self._tr:
            self._local_outstanding += 1
        return waited

    def _start_fallback(self) -> None:
        """Seed the local buckets with this process's share of the shared budget's last
        known levels (refilled from then at the share's rate), or empty when unknown."""
        last = self._last_levels
        requests, tokens, at = last if last is not None else (0.0, 0.0, self._clock())
        pairs: tuple[tuple[TokenBucket | None, float], ...] = (
            (self.fallback.requests, requests), (self.fallback.tokens, tokens))
        for bucket, level in pairs:
            if bucket is not None:
                bucket.set(level * self.share, at=at)

    def _bounds_after_fallback(self) -> tuple[str, str]:
        """While calls are granted locally, the most the shared buckets may hold once Redis
        answers: what the processes' local buckets hold together, taken to be this one's
        divided by its share (every process alike). ``''``: no bound."""
        if self.fallback_reason is None:
            return "", ""
        requests, tokens = self.fallback.requests, self.fallback.tokens
        return ("" if requests is None else repr(requests.available() / self.share),
                "" if tokens is None else repr(tokens.available() / self.share))

    def _redis_answered(self, reply: list[Any]) -> None:
        """Redis granted or refused: the shared budget is in force again."""
        self._last_levels = (float(reply[-2]), float(reply[-1]), self._clock())
        self.fallback_reason = None
        self._incident.succeeded()

    async def _sleep_or_correction(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less if a reconciliation in this process moves the queue;
        return whether it did."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed_event = self._changed
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        changed = asyncio.ensure_future(changed_event.wait())
        try:
            await asyncio.wait((sleeper, changed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            changed.cancel()
        return changed_event.is_set()

    async def _read_shift(self, last: float) -> float:
        try:
            levels = await self._script(self._levels_script, self._rr, self._rc, self._tr,
                                        self._tc, what="rate limiter read")
        except RedisUnavailableError:
            return last  # keep the turn we know; the reservation stands
        return float(levels[2])

    async def _give_back(self, amount: float) -> None:
        with contextlib.suppress(RedisUnavailableError):  # it refills by itself anyway
            await self._script(self._unreserve_script, self._rr, self._rc, self._tr, self._tc,
                               amount, what="rate limiter give-back")

    def reconcile(self, estimated: int, actual: int) -> None:
        if not self._tr:
            return
        if self._local_outstanding > 0:  # a call the fallback granted: its budget is local
            self._local_outstanding -= 1
            self.fallback.reconcile(estimated, actual)
            return
        delta = self._clamp(estimated) - actual
        self.reconciled += 1
        self.reconcile_delta += int(delta)
        if not delta:
            return
        self._spawn(self._reconcile(estimated, actual, delta))
        if self._changed is not None:
            self._changed.set()  # wake this process's waiters to recompute their turn
            self._changed = None

    async def _reconcile(self, estimated: int, actual: int, delta: float) -> None:
        try:
            await self._script(self._reconcile_script, self._tr, self._tc, delta,
                               what="rate limiter reconcile")
        except RedisUnavailableError:
            self.fallback.reconcile(estimated, actual)  # keep the local budget honest at least

    # -- extras ----------------------------------------------------------------------------------
    async def flush(self) -> None:
        """Wait until every reconciliation and give-back sent so far has reached Redis."""
        while self._pending:
            await asyncio.shield(asyncio.gather(*self._pending, return_exceptions=True))

    async def levels(self) -> dict[str, float]:
        """What the shared buckets hold now (requests, tokens) and the queue's shift (s)."""
        values = await self._script(self._levels_script, self._rr, self._rc, self._tr,
                                    self._tc, what="rate limiter read")
        return {"requests": float(values[0]), "tokens": float(values[1]),
                "shift": float(values[2])}

    def snapshot(self) -> dict[str, Any]:
        return {
            "limiter": "redis",
            "url": self.connection.url,
            "mode": "redis" if self.fallback_reason is None else "local fallback",
            "fallback_reason": self.fallback_reason,
            "fallback_share": self.share,
            "requests_per_minute": self.limits.requests_per_minute,
            "tokens_per_minute": self.limits.tokens_per_minute,
            "granted": self.granted,
            "waits": self.waits,
            "waited_s": round(self.waited_s, 3),
            "rejected": self.rejected,
            "reconciled": self.reconciled,
            "tokens_returned": self.reconcile_delta,
            "fallback_calls": self.fallback_calls,
            "redis_errors": self.connection.errors,
        }

    async def aclose(self) -> None:
        """Send what is pending, then close the connection (if this limiter opened it)."""
        await self.flush()
        if self._owns_connection:
            await self.connection.aclose()

