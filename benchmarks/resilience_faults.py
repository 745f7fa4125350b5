"""10,000 requests at concurrency 256 against a provider that fails 10 % of its calls.

Every call fails, independently and with a seeded generator, with probability ``--fault-rate``
with one of the five retryable codes (429 carries ``retry_after=1``). With ``--correlated`` the
faults come together instead: the server stalls for ``--fault-rate`` of every second, and every
call started during a stall times out (as a real stall fails every call in flight at once). The
provider takes 50-150 ms per call. Time is virtual (``VirtualClock``): backoffs,
``retry_after`` and call latency cost no real waiting, so the run measures the gateway, not the
sleeps.

Three runs in the same process, same seed:

* ``baseline``: no faults (what a perfect provider costs);
* ``no retries``: faults, ``AEXY_MAX_ATTEMPTS=1`` (what a client without retries sees);
* ``resilient``: faults, the defaults (3 attempts, jittered backoff, breaker, coalescing).

For each run it checks that every request ended with a result or a typed error (none hung:
the whole run is bounded by a real-time timeout), and does the accounting: every provider call
is attributed to the request that made it (through a context variable), and must equal
``provenance.attempts`` for results, and ``1 + retries`` summed over requests.

    python benchmarks/resilience_faults.py [--requests 10000] [--concurrency 256]
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aexy.completion import Completion, CompletionRequest
from aexy.errors import AexyError, ErrorCode, LLMError, LLMUnavailableError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.resilience import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, install_fake_provider

FAULTS = [ErrorCode.RATE_LIMIT_EXCEEDED, ErrorCode.OVERLOADED, ErrorCode.SERVER_ERROR,
          ErrorCode.TIMEOUT, ErrorCode.CONNECTION_ERROR]


@dataclass
class Calls:
    n: int = 0


_request_calls: contextvars.ContextVar[Calls] = contextvars.ContextVar("calls")


class FaultyProvider(FakeProvider):
    name: ClassVar[str] = "faulty"

    def __init__(self, *, clock: VirtualClock, fault_rate: float, seed: int,
                 correlated: bool = False) -> None:
        super().__init__(replies=[])
        self.clock = clock
        self.fault_rate = fault_rate
        self.correlated = correlated
        self.rng = random.Random(seed)
        self.calls_made = 0
        self.faults: Counter[str] = Counter()

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls_made += 1
        _request_calls.get().n += 1
        stalled = self.correlated and self.clock() % 1.0 < self.fault_rate
        await self.clock.sleep(self.rng.uniform(0.05, 0.15))
        if stalled or (not self.correlated and self.rng.random() < self.fault_rate):
            code = ErrorCode.TIMEOUT if stalled else self.rng.choice(FAULTS)
            self.faults[code.value] += 1
            raise LLMError("injected fault", code=code, provider=self.name, model=self.model,
                           retry_after=1.0 if code is ErrorCode.RATE_LIMIT_EXCEEDED else None)
        self.calls.clear()  # keep memory flat over 10,000 calls
        return await super().complete(request)


@dataclass
class Run:
    name: str
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    hung: int = 0
    calls: int = 0
    faults: int = 0
    retries: int = 0
    attributed_ok: int = 0
    attempts_ok: int = 0
    attributed_err: int = 0
    mismatched: int = 0
    wall_s: float = 0.0
    virtual_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


async def run(name: str, *, requests: int, concurrency: int, fault_rate: float,
              max_attempts: int, seed: int, wall_timeout: float, correlated: bool) -> Run:
    host = PluginHost(entry_points=False)
    install_fake_provider(host, FaultyProvider)
    clock = VirtualClock(start=0.5)  # between two stalls of a correlated run
    provider = FaultyProvider(clock=clock, fault_rate=fault_rate, seed=seed,
                              correlated=correlated)
    jitter = random.Random(seed + 1)
    gw = LLMGateway(provider=provider, fallbacks=(), plugins=host, cache=False, clock=clock,
                    sleep=clock.sleep, random=jitter.random,
                    settings=AexySettings(max_attempts=max_attempts))
    out = Run(name)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        calls = Calls()
        _request_calls.set(calls)
        async with gate:
            try:
                result = await gw.analyze("code_quality", f"def f{i}(x):\n    return x * {i}\n")
            except (LLMError, LLMUnavailableError) as exc:
                code = (exc.code.value if isinstance(exc, LLMError)
                        else f"unavailable:{exc.last_code}")
                out.errors[code] += 1
                out.attributed_err += calls.n
                if calls.n > max_attempts:
                    out.mismatched += 1
            except AexyError as exc:  # typed, but not expected here
                out.errors[type(exc).__name__] += 1
            else:
                out.ok += 1
                out.attributed_ok += calls.n
                out.attempts_ok += result.provenance.attempts
                if result.provenance.attempts != calls.n:
                    out.mismatched += 1

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(one(i)) for i in range(requests)]
    done, pending = await asyncio.wait(tasks, timeout=wall_timeout)
    out.wall_s = time.perf_counter() - t0
    out.hung = len(pending)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()  # an untyped exception would surface here and fail the benchmark
    out.virtual_s = clock() - 0.5
    out.calls = provider.calls_made
    out.faults = sum(provider.faults.values())
    out.stats = gw.stats()
    out.retries = sum(out.stats["retries"].values())
    await gw.aclose()
    return out


def report(runs: list[Run], requests: int) -> None:
    base = runs[0]
    print(f"{'run':<12}{'results':>9}{'typed errors':>14}{'hung':>6}{'calls':>8}"
          f"{'faults':>8}{'retries':>9}{'calls/req':>11}{'wall s':>9}{'req/s':>9}"
          f"{'virtual s':>11}")
    for r in runs:
        print(f"{r.name:<12}{r.ok:>9}{sum(r.errors.values()):>14}{r.hung:>6}{r.calls:>8}"
              f"{r.faults:>8}{r.retries:>9}{r.calls / requests:>11.4f}{r.wall_s:>9.2f}"
              f"{requests / r.wall_s:>9.0f}{r.virtual_s:>11.1f}")
    print()
    for r in runs:
        breakers = {k: f"{v['state']}, opened {v['times_opened']}x"
                    for k, v in r.stats["breakers"].items()}
        print(f"[{r.name}] errors by code: {dict(r.errors) or '-'}; breaker: {breakers}")
        skipped = r.stats["skipped"]
        first_calls = requests - sum(skipped.values())
        checks = {
            "every request ended (results + typed errors == requests)":
                r.ok + sum(r.errors.values()) == requests and r.hung == 0,
            "calls == results + faults": r.calls == r.ok + r.faults,
            "calls == first calls + retries": r.calls == first_calls + r.retries,
            "calls == calls attributed to results + to errors":
                r.calls == r.attributed_ok + r.attributed_err,
            "provenance.attempts == calls made, for every result":
                r.attempts_ok == r.attributed_ok and r.mismatched == 0,
        }
        for label, ok in checks.items():
            print(f"    {'ok ' if ok else 'FAIL'} {label}")
        if not all(checks.values()):
            sys.exit(1)
    print()
    nr, rs = runs[1], runs[2]
    print(f"success rate: baseline {base.ok / requests:.2%}, no retries "
          f"{nr.ok / requests:.2%}, resilient {rs.ok / requests:.2%}")
    print(f"provider calls vs baseline: resilient {rs.calls / base.calls:.3f}x "
          f"(expected ~1/(1-p) = {1 / (1 - 0.1):.3f}x for p=0.1)")
    print(f"wall time vs baseline: resilient {rs.wall_s / base.wall_s:.2f}x")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--fault-rate", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--wall-timeout", type=float, default=300.0)
    ap.add_argument("--correlated", action="store_true",
                    help="faults as stalls: every call started in one times out")
    a = ap.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}; {a.requests} requests, "
          f"concurrency {a.concurrency}, fault rate {a.fault_rate:.0%}"
          f"{' (stalls)' if a.correlated else ''}, seed {a.seed}\n")
    common = {"requests": a.requests, "concurrency": a.concurrency, "seed": a.seed,
              "wall_timeout": a.wall_timeout, "correlated": a.correlated}
    runs = [
        await run("baseline", fault_rate=0.0, max_attempts=3, **common),
        await run("no retries", fault_rate=a.fault_rate, max_attempts=1, **common),
        await run("resilient", fault_rate=a.fault_rate, max_attempts=3, **common),
    ]
    report(runs, a.requests)


if __name__ == "__main__":
    asyncio.run(main())
