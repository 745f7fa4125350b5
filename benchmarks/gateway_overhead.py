"""What ``LLMGateway.analyze()`` costs on top of the HTTP call it makes.

Sequential cases interleave their contenders call by call (a, b, a, b, ...: machine drift hits
them alike) and take each contender's median call per round; ratios are per round, then the
median ratio over rounds. Throughput cases interleave whole rounds. The loopback cases talk to
``_stub_server.py`` in a second process (it answers like OpenAI and Ollama and counts TCP
connections); the in-process case uses ``httpx.MockTransport``. The baseline is always a raw
``httpx.AsyncClient.post(url, json=body)`` of the very request body aexy sends (captured from
aexy itself), plus ``response.json()``, on a client with the same pool limits.

    python benchmarks/gateway_overhead.py [--rounds 7] [--calls 400] [--only NAME ...]

Cases and the targets of issue 11:

- ``loopback``: ``analyze(use_cache=False)`` through aexy-openai and aexy-ollama, sequential,
  against the raw POST: at most 1.10x.
- ``inprocess``: the same on a MockTransport, against ``provider.complete()`` alone: at most
  +60 us of CPU per call.
- ``concurrency``: throughput at 64 concurrent callers against raw httpx at 64: at least 0.95x.
- ``hit``: a memory-tier cache hit: p50 under 20 us, p99 under 50 us.
- ``megabyte``: 1 MB of content on the miss path (key, call, store) against the raw POST of the
  same body: at most 1.3x.
- ``connections``: 256 concurrent callers, 4 waves: TCP connections the stub accepted, for aexy
  and for raw httpx with the same pool limits (no new connection per call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from aexy.gateway import LLMGateway
from aexy.plugin_api import BaseLLMProvider
from aexy.plugins import PluginHost
from aexy.settings import AexySettings

HERE = Path(__file__).resolve().parent
TYPE = "code_quality"
CODE = "def add(a: int, b: int) -> int:\n    return a + b\n" * 20
KEY = "sk-bench-0000000000000000"
STUB_ANSWER: dict[str, bytes] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_stub() -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "_stub_server.py"), str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def host() -> PluginHost:
    return PluginHost(entry_points=False)


def make_provider(kind: str, port: int | None, transport: Any = None) -> BaseLLMProvider:
    if kind == "openai":
        from aexy_openai import OpenAIProvider, OpenAISettings

        base = f"http://127.0.0.1:{port}/v1" if port else "http://127.0.0.1:9/v1"
        return OpenAIProvider(OpenAISettings(api_key=KEY, base_url=base), transport=transport)
    from aexy_ollama import OllamaProvider, OllamaSettings

    base = f"http://127.0.0.1:{port}" if port else "http://127.0.0.1:9"
    return OllamaProvider(OllamaSettings(base_url=base, model="llama3.2"), transport=transport)


def gateway(provider: BaseLLMProvider, *, cache: bool = False) -> LLMGateway:
    # Limits high enough for the 1 MB case; the memory backend whatever is installed.
    return LLMGateway(provider=provider, fallbacks=(), plugins=host(),
                      cache=None if cache else False,
                      settings=AexySettings(cache_max_entries=100_000, cache_backend="memory",
                                            max_content_chars=4 << 20))


async def captured_body(kind: str, content: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The path, JSON body and headers aexy sends for ``content``."""
    seen: list[httpx.Request] = []
    stub = {"openai": _openai_stub_body(), "ollama": _ollama_stub_body()}[kind]

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=stub, headers={"content-type": "application/json"})

    async with gateway(make_provider(kind, None, httpx.MockTransport(record))) as gw:
        await gw.analyze(TYPE, content, use_cache=False)
    request = seen[-1]
    headers = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
    return request.url.path, json.loads(request.content), headers


def _openai_stub_body() -> bytes:
    sys.path.insert(0, str(HERE))
    from _stub_server import OPENAI

    return OPENAI


def _ollama_stub_body() -> bytes:
    sys.path.insert(0, str(HERE))
    from _stub_server import OLLAMA

    return OLLAMA


def completion_request(gw: LLMGateway) -> Any:
    """The request ``gw`` sends for ``CODE``, for calling its provider directly."""
    from aexy.analysis import AnalysisRequest
    from aexy.completion import CompletionRequest, Message

    spec = gw.spec_for(TYPE)
    request = AnalysisRequest.create(TYPE, CODE, None, max_content_chars=10**7)
    prompt = gw.prompt_for(spec, request)
    return CompletionRequest(system=prompt.system, messages=(Message("user", prompt.user),),
                             json_schema=spec.json_schema, schema_name=spec.name,
                             max_tokens=spec.max_tokens, analysis=request)


def raw_client(provider: BaseLLMProvider, headers: dict[str, str]) -> httpx.AsyncClient:
    """A raw client with the pool limits of the provider's own client."""
    pool = getattr(provider, "_client_for_calls", None)
    limits = pool()._transport._pool if pool is not None else None  # type: ignore[misc]
    if limits is not None:
        return httpx.AsyncClient(headers=headers, limits=httpx.Limits(
            max_connections=limits._max_connections,
            max_keepalive_connections=limits._max_keepalive_connections))
    return httpx.AsyncClient(headers=headers)


async def alternating(fns: dict[str, Callable[[int], Awaitable[Any]]], calls: int, n: int
                      ) -> dict[str, list[float]]:
    """Per-call latencies (us) of every contender, calls interleaved one by one (a, b, c, a, b,
    c, ...) so that machine drift (CPU steal, frequency) hits all alike; the figure of a round
    is each contender's median call, so a preempted call does not move it."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    clock = time.perf_counter_ns
    counter = 0
    for _ in range(n):
        samples: dict[str, list[int]] = {name: [] for name in fns}
        for _ in range(calls):
            counter += 1
            for name, fn in fns.items():
                t0 = clock()
                await fn(counter)
                samples[name].append(clock() - t0)
        for name, got in samples.items():
            out[name].append(statistics.median(got) / 1000)
    return out


async def rounds(cases: dict[str, Callable[[], Awaitable[float]]], n: int
                 ) -> dict[str, list[float]]:
    """Run every case once per round, interleaved; each returns its own figure."""
    out: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(n):
        for name, case in cases.items():
            out[name].append(await case())
    return out


def ratio_line(name: str, ours: list[float], base: list[float], target: str) -> str:
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    return (f"{name:<44} {statistics.median(ours):>9.1f} {statistics.median(base):>9.1f} "
            f"{statistics.median(ratios):>7.3f}x   target {target}")


# -- cases -----------------------------------------------------------------------------------------
async def loopback(port: int, a: argparse.Namespace) -> None:
    print("\n## loopback, sequential: us per call (aexy, raw httpx), median ratio")
    for kind in ("openai", "ollama"):
        await loopback_one(kind, port, a)


async def loopback_one(kind: str, port: int, a: argparse.Namespace) -> None:
    path, body, headers = await captured_body(kind, CODE)
    provider = make_provider(kind, port)
    raw = raw_client(provider, headers)
    url = f"http://127.0.0.1:{port}{path}"
    async with gateway(provider) as gw:
        call = completion_request(gw)

        async def ours(i: int) -> Any:
            return await gw.analyze(TYPE, CODE, use_cache=False)

        async def provider_only(i: int) -> Any:
            return await provider.complete(call)

        async def theirs(i: int) -> Any:
            return (await raw.post(url, json=body)).json()

        for fn in (ours, provider_only, theirs):  # warm the pools
            for i in range(50):
                await fn(i)
        got = await alternating({"aexy": ours, "provider": provider_only, "raw": theirs},
                                a.calls, a.rounds)
    await raw.aclose()
    print(ratio_line(f"analyze() via aexy-{kind}", got["aexy"], got["raw"], "<= 1.10x"))
    print(ratio_line(f"  aexy-{kind} complete() alone", got["provider"], got["raw"], "-"))


async def inprocess(a: argparse.Namespace) -> None:
    print("\n## in process (MockTransport): us per call, analyze() minus provider.complete()")
    for kind in ("openai", "ollama"):
        await inprocess_one(kind, a)


async def inprocess_one(kind: str, a: argparse.Namespace) -> None:
    stub = {"openai": _openai_stub_body(), "ollama": _ollama_stub_body()}[kind]
    transport = httpx.MockTransport(lambda r: httpx.Response(
        200, content=stub, headers={"content-type": "application/json"}))
    provider = make_provider(kind, None, transport)
    gw = gateway(provider)
    call = completion_request(gw)

    async def ours(i: int) -> Any:
        return await gw.analyze(TYPE, CODE, use_cache=False)

    async def bare(i: int) -> Any:
        return await provider.complete(call)

    for fn in (ours, bare):
        for i in range(200):
            await fn(i)
    got = await alternating({"aexy": ours, "bare": bare}, a.calls * 3, a.rounds)
    deltas = [o - b for o, b in zip(got["aexy"], got["bare"], strict=True)]
    print(f"{'analyze() via aexy-' + kind:<44} {statistics.median(got['aexy']):>9.1f} "
          f"{statistics.median(got['bare']):>9.1f} {statistics.median(deltas):>+7.1f}us"
          "   target <= +60 us")
    await gw.aclose()


async def concurrency(port: int, a: argparse.Namespace, workers: int = 64) -> None:
    print(f"\n## throughput at concurrency {workers}: calls/s (aexy, raw httpx), median ratio")
    path, body, headers = await captured_body("openai", CODE)
    provider = make_provider("openai", port)
    raw = raw_client(provider, headers)
    url = f"http://127.0.0.1:{port}{path}"
    async with gateway(provider) as gw:
        counter = [0]

        async def ours() -> None:
            counter[0] += 1  # distinct content: concurrent calls must not coalesce
            await gw.analyze(TYPE, f"{CODE}# {counter[0]}\n", use_cache=False)

        async def theirs() -> None:
            (await raw.post(url, json=body)).json()

        def wave(fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[float]]:
            async def run() -> float:
                per_worker = max(1, a.calls // 8)

                async def worker() -> None:
                    for _ in range(per_worker):
                        await fn()
                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(workers)))
                return workers * per_worker / (time.perf_counter() - t0)
            return run

        await wave(ours)()
        await wave(theirs)()
        got = await rounds({"aexy": wave(ours), "raw": wave(theirs)}, a.rounds)
    await raw.aclose()
    ratios = [o / b for o, b in zip(got["aexy"], got["raw"], strict=True)]
    print(f"{'analyze() via aexy-openai':<44} {statistics.median(got['aexy']):>9.0f} "
          f"{statistics.median(got['raw']):>9.0f} {statistics.median(ratios):>7.3f}x"
          "   target >= 0.95x")


async def hit(a: argparse.Namespace) -> None:
    print("\n## memory-tier cache hit: latency of analyze() (us)")
    transport = httpx.MockTransport(lambda r: httpx.Response(
        200, content=_openai_stub_body(), headers={"content-type": "application/json"}))
    async with gateway(make_provider("openai", None, transport), cache=True) as gw:
        await gw.analyze(TYPE, CODE)
        samples: list[float] = []
        for _ in range(a.rounds):
            for _ in range(a.calls * 10):
                t0 = time.perf_counter_ns()
                await gw.analyze(TYPE, CODE)
                samples.append((time.perf_counter_ns() - t0) / 1000)
    samples.sort()
    p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
    print(f"{'cache hit (' + str(len(samples)) + ' calls)':<44} p50 {p50:>6.1f}  p99 {p99:>6.1f}"
          "   target p50 < 20, p99 < 50")


async def megabyte(port: int, a: argparse.Namespace) -> None:
    print("\n## 1 MB of content, miss path (key, call, store): us per call, median ratio")
    big = ("x = compute(1, 2, 3)  # a line of code\n" * 27_000)[: 1 << 20]
    path, body, headers = await captured_body("openai", big)
    provider = make_provider("openai", port)
    raw = raw_client(provider, headers)
    url = f"http://127.0.0.1:{port}{path}"
    async with gateway(provider, cache=True) as gw:
        async def ours(i: int) -> Any:  # a new content each call: always a miss and a store
            return await gw.analyze(TYPE, f"{i:08d}{big[8:]}")

        async def theirs(i: int) -> Any:
            return (await raw.post(url, json=body)).json()

        calls = max(5, a.calls // 20)
        for fn in (ours, theirs):
            for i in range(3):
                await fn(10**7 + i)
        got = await alternating({"aexy": ours, "raw": theirs}, calls, a.rounds)
    await raw.aclose()
    print(ratio_line("analyze(1 MB) via aexy-openai", got["aexy"], got["raw"], "<= 1.30x"))


async def connections(port: int, a: argparse.Namespace, workers: int = 256,
                      waves: int = 4) -> None:
    print(f"\n## {workers} concurrent callers, {waves} waves: TCP connections accepted")
    path, body, headers = await captured_body("openai", CODE)
    stats_url = f"http://127.0.0.1:{port}/__stats"
    async with httpx.AsyncClient() as probe:
        async def accepted() -> int:
            return int((await probe.get(stats_url)).json()["connections"])

        provider = make_provider("openai", port)
        contenders: dict[str, tuple[Callable[[int], Awaitable[Any]], Any]] = {}
        gw = gateway(provider)
        contenders["aexy-openai"] = (
            lambda i: gw.analyze(TYPE, f"{CODE}# {i}\n", use_cache=False), gw)
        same = raw_client(provider, headers)
        url = f"http://127.0.0.1:{port}{path}"
        contenders["raw httpx, same pool limits"] = (lambda i: same.post(url, json=body), same)
        default = httpx.AsyncClient(headers=headers)
        contenders["raw httpx, default limits"] = (lambda i: default.post(url, json=body),
                                                   default)
        for name, (fn, owner) in contenders.items():
            before = await accepted()
            for w in range(waves):
                await asyncio.gather(*(fn(w * workers + i) for i in range(workers)))
            opened = await accepted() - before - 1
            print(f"{name:<44} {opened:>5} connections for {workers * waves} calls")
            await owner.aclose()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {platform.python_version()}, httpx {httpx.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load {load:.2f}; "
          f"{a.rounds} rounds, medians")
    want = set(a.only) if a.only else None
    proc, port = start_stub()
    try:
        for name, run in (("loopback", lambda: loopback(port, a)),
                          ("inprocess", lambda: inprocess(a)),
                          ("concurrency", lambda: concurrency(port, a)),
                          ("hit", lambda: hit(a)),
                          ("megabyte", lambda: megabyte(port, a)),
                          ("connections", lambda: connections(port, a))):
            if want is None or name in want:
                await run()
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
