"""The HTTP transport, chosen by measurement: httpx 0.28/0.29 on httpcore 1.x, httpx2 on httpcore2,
and httpx on httpcore2's pool through ``aexy.plugin_api.PoolTransport``; each with its own default
pool and with aexy's (256 connections, all kept). Against ``tools/fault_server.py``, a loopback
OpenAI-compatible server in a second process that answers late, stalls or injects faults.

Sections (``--only`` picks some):

- ``stall``: lost pool slots. The server answers 5 s late; callers (4x the pool) give up after
  1 s by cancellation, as the gateway's attempt cutoff does; then the server is healthy and 64
  calls get 2 s each. Reported: connections busy with no request ("lost"), later successes.
  Also through the gateway and aexy-openai (``OPENAI_TIMEOUT=1``), as wired (``PoolTransport``,
  which the HTTP provider base builds) and on httpx's own pool (how they were wired before).
- ``throughput``: calls/s at 1, 64 and 256 callers, interleaved rounds (the first contender
  rotating), median ratio to raw httpx with its own defaults; CPU (this process) per call. The
  providers (aexy-openai, aexy-ollama) are called through ``provider.complete()`` with the
  request the gateway builds, as wired (``PoolTransport``) and on httpx's own pool.
- ``profile``: share of CPU in the pool's request assignment at 256 callers (cProfile).
- ``load``: 10,000 analyses at concurrency 256 through the gateway and aexy-openai, 10 % faults
  (500, 503, 429, reset, and answers twice ``OPENAI_TIMEOUT`` late; ``--load-timeout``, 5 s):
  results, typed and untyped errors, hangs, slots busy afterwards; as wired and on httpx's own
  pool.

Raw clients get ``timeout=60`` (httpx's default 5 s pool timeout fails the baseline itself at 256
callers on a loaded machine); pool settings are each library's own unless stated.

    python benchmarks/transport.py [--rounds 7] [--calls 1500] [--only stall throughput ...]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from tools.fault_server import mode_body  # noqa: E402

from aexy.errors import AexyError  # noqa: E402
from aexy.gateway import LLMGateway  # noqa: E402
from aexy.plugin_api import PoolTransport  # noqa: E402
from aexy.plugins import PluginHost  # noqa: E402
from aexy.settings import AexySettings  # noqa: E402
from gateway_overhead import CODE, captured_body, completion_request, gateway  # noqa: E402

AEXY_POOL = 256


# -- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self) -> None:
        port_file = Path(tempfile.mkdtemp()) / "port"
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "fault_server.py"),
                                      "--port-file", str(port_file)])
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the fault server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self._control = httpx.Client(timeout=10)

    def mode(self, **changes: Any) -> None:
        self._control.post(self.url + "/__mode", content=mode_body(**changes)).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return dict(self._control.get(self.url + "/__stats").json())

    def stop(self) -> None:
        self._control.close()
        self.proc.terminate()
        self.proc.wait(10)


# -- contenders ---------------------------------------------------------------------------------

Post = Callable[[], Awaitable[None]]


@dataclass
class Contender:
    name: str
    post: Post
    close: Callable[[], Awaitable[None]]
    pool: Callable[[], Any]  # the connection pool, to count lost slots


def lost_slots(pool: Any) -> tuple[int, int]:
    """(connections busy with no request holding them, connections) of an httpcore(2) pool."""
    if isinstance(pool, PoolTransport):
        snap = pool.snapshot()
        return snap["lost"], snap["connections"]
    held = {id(r.connection) for r in pool._requests if r.connection is not None}
    connections = list(pool.connections)
    return (sum(not c.is_idle() and not c.is_closed() and id(c) not in held
                for c in connections), len(connections))


def raw(name: str, lib: Any, url: str, body: dict[str, Any], headers: dict[str, str],
        limits: int | None) -> Contender:
    kwargs: dict[str, Any] = {"headers": headers, "timeout": 60.0}
    if limits is not None:
        kwargs["limits"] = lib.Limits(max_connections=limits, max_keepalive_connections=limits)
    client = lib.AsyncClient(**kwargs)

    async def post() -> None:
        response = await client.post(url, json=body)
        response.raise_for_status()
        response.json()

    return Contender(name, post, client.aclose, lambda: client._transport._pool)


def on_pool_transport(url: str, body: dict[str, Any], headers: dict[str, str],
                      limits: int) -> Contender:
    transport = PoolTransport(max_connections=limits)
    client = httpx.AsyncClient(headers=headers, timeout=60.0, transport=transport)

    async def post() -> None:
        response = await client.post(url, json=body)
        response.raise_for_status()
        response.json()

    return Contender(f"httpx + PoolTransport({limits})", post, client.aclose, lambda: transport)


def provider(kind: str, server: Server, *, pooled: bool, timeout: float = 60.0) -> Any:
    if kind == "openai":
        from aexy_openai import OpenAIProvider, OpenAISettings

        settings: Any = OpenAISettings(api_key="sk-bench-0000000000000000",
                                       base_url=server.url + "/v1", timeout=timeout)
        cls: Any = OpenAIProvider
    else:
        from aexy_ollama import OllamaProvider, OllamaSettings

        settings = OllamaSettings(base_url=server.url, model="llama3.2", timeout=timeout)
        cls = OllamaProvider
    return cls(settings, transport=None if pooled else httpx_pool(settings.max_connections))


def httpx_pool(connections: int) -> httpx.AsyncHTTPTransport:
    """httpx's own pool as the providers were wired before PoolTransport (every connection kept
    while idle)."""
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections))


def provider_pool(p: Any) -> Any:
    transport = p.client._transport
    return transport if isinstance(transport, PoolTransport) else transport._pool


async def provider_contender(kind: str, server: Server, *, pooled: bool) -> Contender:
    p = provider(kind, server, pooled=pooled)
    async with gateway(p) as gw:  # only to build the request the gateway sends
        request = completion_request(gw)
        gw._owned.clear()  # the provider outlives this gateway

    async def post() -> None:
        await p.complete(request)

    label = f"aexy-{kind} " + ("(as wired: PoolTransport)" if pooled else "on httpx's own pool")
    return Contender(label, post, p.aclose, lambda: provider_pool(p))


async def contenders(server: Server, kinds: list[str]) -> list[Contender]:
    path, body, headers = await captured_body("openai", CODE)
    url = server.url + path
    made = [
        raw("raw httpx (defaults)", httpx, url, body, headers, None),
        raw(f"httpx Limits({AEXY_POOL})", httpx, url, body, headers, AEXY_POOL),
        raw("httpx2 (defaults)", httpx2, url, body, headers, None),
        raw(f"httpx2 Limits({AEXY_POOL})", httpx2, url, body, headers, AEXY_POOL),
        on_pool_transport(url, body, headers, AEXY_POOL),
    ]
    for kind in kinds:
        for pooled in (False, True):
            made.append(await provider_contender(kind, server, pooled=pooled))
    return made


# -- throughput ---------------------------------------------------------------------------------


async def run_calls(post: Post, callers: int, calls: int) -> tuple[float, float, int]:
    """(calls/s, CPU us per call, failed calls) of ``calls`` calls shared by ``callers``
    tasks. A failed call (a client that times out under its own load) counts as done."""
    left, failed = calls, 0

    async def worker() -> None:
        nonlocal left, failed
        while left > 0:
            left -= 1
            try:
                await post()
            except (httpx.HTTPError, httpx2.HTTPError, AexyError):
                failed += 1

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(callers)))
    return (calls / (time.perf_counter() - wall), (time.process_time() - cpu) / calls * 1e6,
            failed)


async def throughput(server: Server, a: argparse.Namespace) -> None:
    print("\n## throughput: calls/s and CPU us/call (median of rounds), median ratio to raw "
          "httpx (defaults)")
    for callers in (1, 64, 256):
        made = await contenders(server, ["openai", "ollama"])
        calls = a.calls if callers > 1 else max(200, a.calls // 3)
        for c in made:  # warm: connections opened, caches filled
            await run_calls(c.post, callers, min(calls, 2 * callers + 50))
        got: dict[str, list[tuple[float, float, int]]] = {c.name: [] for c in made}
        for r in range(a.rounds):
            order = made[r % len(made):] + made[:r % len(made)]
            for c in order:
                got[c.name].append(await run_calls(c.post, callers, calls))
        base = [x[0] for x in got[made[0].name]]
        print(f"\n{callers} caller(s), {calls} calls per round, {a.rounds} rounds")
        print(f"{'client':<34} {'calls/s':>9} {'CPU us':>8} {'failed':>7} {'vs raw httpx':>13}")
        for c in made:
            rates = [x[0] for x in got[c.name]]
            ratio = statistics.median(o / b for o, b in zip(rates, base, strict=True))
            print(f"{c.name:<34} {statistics.median(rates):>9.0f} "
                  f"{statistics.median(x[1] for x in got[c.name]):>8.0f} "
                  f"{sum(x[2] for x in got[c.name]):>7} {ratio:>12.2f}x")
        for c in made:
            await c.close()


# -- stalls -------------------------------------------------------------------------------------


async def stall_once(server: Server, c: Contender, *, callers: int) -> tuple[int, int, int]:
    """(lost slots, connections, later successes of 64) after one stall cut by cancellation."""
    server.mode(delay=5.0)

    async def cut() -> None:
        try:
            async with asyncio.timeout(1.0):
                await c.post()
        except (TimeoutError, httpx.HTTPError, httpx2.HTTPError, AexyError):
            pass

    await asyncio.gather(*(cut() for _ in range(callers)))
    await asyncio.sleep(0.2)
    lost, connections = lost_slots(c.pool())
    server.mode()

    async def later() -> bool:
        try:
            async with asyncio.timeout(2.0):
                await c.post()
        except (TimeoutError, httpx.HTTPError, httpx2.HTTPError, AexyError):
            return False
        return True

    ok = sum(await asyncio.gather(*(later() for _ in range(64))))
    return lost, connections, ok


async def stall_gateway(server: Server, *, pooled: bool, pool: int, callers: int
                        ) -> tuple[int, int, int]:
    """The same through the gateway: aexy-openai with OPENAI_TIMEOUT=1, the gateway's cutoff
    ending each attempt."""
    from aexy_openai import OpenAIProvider, OpenAISettings

    settings = OpenAISettings(api_key="sk-bench-0000000000000000", base_url=server.url + "/v1",
                              timeout=1.0, max_connections=pool)
    p = OpenAIProvider(settings, transport=None if pooled else httpx_pool(pool))
    gw = LLMGateway(provider=p, fallbacks=(), plugins=PluginHost(entry_points=False),
                    cache=False, settings=AexySettings(max_attempts=1, coalesce=False,
                                                       breaker_failure_rate=0))
    server.mode(delay=5.0)
    n = 0

    async def one(limit: float) -> bool:
        nonlocal n
        n += 1
        try:
            await gw.analyze("code_quality", f"{CODE}# {n}\n", timeout=limit)
        except AexyError:
            return False
        return True

    await asyncio.gather(*(one(30) for _ in range(callers)))
    await asyncio.sleep(0.2)
    lost, connections = lost_slots(provider_pool(p))
    server.mode()
    ok = sum(await asyncio.gather(*(one(2.0) for _ in range(64))))
    await gw.aclose()
    return lost, connections, ok


async def stall(server: Server, a: argparse.Namespace) -> None:
    print("\n## lost pool slots: server 5 s late, attempts cut at 1 s; then healthy, 64 calls")
    print(f"{'client':<40} {'pool':>5} {'callers':>8} {'lost':>6} {'later ok':>9}")
    path, body, headers = await captured_body("openai", CODE)
    url = server.url + path
    for pool, callers in ((16, 64), (AEXY_POOL, 512)):
        for name, lib in (("httpx", httpx), ("httpx2", httpx2)):
            c = raw(f"{name} Limits({pool})", lib, url, body, headers, pool)
            lost, _, ok = await stall_once(server, c, callers=callers)
            print(f"{c.name:<40} {pool:>5} {callers:>8} {lost:>6} {ok:>6}/64")
            await c.close()
        c = on_pool_transport(url, body, headers, pool)
        lost, _, ok = await stall_once(server, c, callers=callers)
        print(f"{c.name:<40} {pool:>5} {callers:>8} {lost:>6} {ok:>6}/64")
        await c.close()
        for pooled in (False, True):
            lost, _, ok = await stall_gateway(server, pooled=pooled, pool=pool, callers=callers)
            label = "gateway + aexy-openai " + ("(as wired: PoolTransport)" if pooled
                                                else "on httpx's own pool")
            print(f"{label:<40} {pool:>5} {callers:>8} {lost:>6} {ok:>6}/64")


# -- profile ------------------------------------------------------------------------------------


async def profile(server: Server, a: argparse.Namespace) -> None:
    print("\n## CPU in the pool's request assignment, 256 callers (cProfile, one run each)")
    path, body, headers = await captured_body("openai", CODE)
    url = server.url + path
    for c in (raw(f"httpx Limits({AEXY_POOL})", httpx, url, body, headers, AEXY_POOL),
              raw("raw httpx (defaults)", httpx, url, body, headers, None),
              on_pool_transport(url, body, headers, AEXY_POOL)):
        await run_calls(c.post, 256, 600)
        prof = cProfile.Profile()
        prof.enable()
        await run_calls(c.post, 256, a.calls)
        prof.disable()
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in stats.values())
        assign = sum(v[3] for k, v in stats.items() if k[2] == "_assign_requests_to_connections")
        idle = sum(v[0] for k, v in stats.items() if k[2] == "is_idle")
        print(f"{c.name:<34} assignment {assign / total:>6.1%} of CPU, is_idle() called "
              f"{idle / a.calls:>8.0f} times per call")
        await c.close()


# -- load ---------------------------------------------------------------------------------------


async def load_once(server: Server, a: argparse.Namespace, *, pooled: bool) -> None:
    from aexy_openai import OpenAIProvider, OpenAISettings

    server.mode(fault_rate=0.10, slow_delay=2 * a.load_timeout, seed=7)
    settings = OpenAISettings(api_key="sk-bench-0000000000000000", base_url=server.url + "/v1",
                              timeout=a.load_timeout)
    p = OpenAIProvider(settings, transport=None if pooled else httpx_pool(
        settings.max_connections))
    gw = LLMGateway(provider=p, fallbacks=(), plugins=PluginHost(entry_points=False),
                    cache=False, settings=AexySettings(deadline_seconds=30))
    outcome: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    gate = asyncio.Semaphore(256)
    faults_before = Counter(server.stats()["faults"])

    async def one(i: int) -> None:
        async with gate:
            try:
                await gw.analyze("code_quality", f"{CODE}# {i}\n")
            except AexyError as exc:
                outcome["typed"] += 1
                codes[str(getattr(exc, "code", type(exc).__name__))] += 1
            except Exception:
                outcome["untyped"] += 1
            else:
                outcome["results"] += 1

    wall = time.perf_counter()
    tasks = [asyncio.ensure_future(one(i)) for i in range(a.load_calls)]
    _done, pending = await asyncio.wait(tasks, timeout=a.load_wall)
    wall = time.perf_counter() - wall
    for task in pending:
        task.cancel()
    await asyncio.sleep(0.5)
    busy = lost_slots(provider_pool(p))[0]
    label = "as wired: PoolTransport" if pooled else "httpx's own pool (httpx 0.29)"
    print(f"{label:<26} {outcome['results']:>8} {outcome['typed']:>6} {outcome['untyped']:>8} "
          f"{len(pending):>5} {busy:>11} {wall:>7.1f}")
    breaker = gw.stats()["breakers"]["openai/" + p.model]
    faults = Counter(server.stats()["faults"]) - faults_before
    print(f"    errors {dict(codes)}; breaker opened {breaker['times_opened']}x; "
          f"faults injected {dict(faults)} ({sum(faults.values())})")
    await gw.aclose()
    server.mode()


async def load(server: Server, a: argparse.Namespace) -> None:
    print(f"\n## load: {a.load_calls:,} analyses, concurrency 256, 10 % faults (500, 503, 429, "
          f"reset, {2 * a.load_timeout:g} s late), OPENAI_TIMEOUT={a.load_timeout:g}")
    print(f"{'wiring':<26} {'results':>8} {'typed':>6} {'untyped':>8} {'hung':>5} "
          f"{'busy after':>11} {'wall s':>7}")
    for pooled in (False, True):
        await load_once(server, a, pooled=pooled)


SECTIONS = {"stall": stall, "throughput": throughput, "profile": profile, "load": load}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=1500)
    ap.add_argument("--load-calls", type=int, default=10_000)
    ap.add_argument("--load-wall", type=float, default=600.0)
    ap.add_argument("--load-timeout", type=float, default=5.0,
                    help="OPENAI_TIMEOUT of the load run; slow answers take twice as long")
    ap.add_argument("--only", nargs="*", choices=sorted(SECTIONS), default=list(SECTIONS))
    a = ap.parse_args()
    import httpcore
    import httpcore2

    print(f"Python {platform.python_version()} on {platform.machine()}; httpx {httpx.__version__}"
          f" (httpcore {httpcore.__version__}), httpx2 {httpx2.__version__} (httpcore2 "
          f"{httpcore2.__version__})")
    server = Server()
    try:
        for name in a.only:
            await SECTIONS[name](server, a)
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
