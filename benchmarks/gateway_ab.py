"""The gateway's per-call figures of this tree against an earlier commit's, measured together.

``gateway_overhead.py`` compares aexy with the work it wraps in one process; a change to the
gateway is judged against the code before it. This script exports COMMIT (``git archive``) to a
temporary directory and measures both trees in short bursts, alternated (base, tree, base, ...),
each in a fresh process, so that the machine's drift hits both alike; it prints the medians and
the median of the paired differences:

- ``overhead``: ``analyze(use_cache=False)`` through aexy-openai on a MockTransport minus
  ``provider.complete()`` alone, µs per call (calls interleaved, median of 3 rounds of 300);
- ``hit_p50``, ``hit_p99``: a memory-tier cache hit, µs (3,000 hits).

    python benchmarks/gateway_ab.py COMMIT [--bursts 12]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("core/src", "plugins/aexy-openai/src", "plugins/aexy-ollama/src")

CHILD = r'''
import asyncio, json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import gateway_overhead as g
import httpx

async def main():
    out = {}
    stub = g._openai_stub_body()
    transport = httpx.MockTransport(lambda r: httpx.Response(
        200, content=stub, headers={"content-type": "application/json"}))
    async with g.gateway(g.make_provider("openai", None, transport), cache=True) as gw:
        await gw.analyze(g.TYPE, g.CODE)
        samples = []
        for _ in range(3000):
            t0 = time.perf_counter_ns()
            await gw.analyze(g.TYPE, g.CODE)
            samples.append((time.perf_counter_ns() - t0) / 1000)
        samples.sort()
        out["hit_p50"] = samples[len(samples) // 2]
        out["hit_p99"] = samples[int(len(samples) * 0.99)]
    provider = g.make_provider("openai", None, transport)
    gw = g.gateway(provider)
    call = g.completion_request(gw)

    async def ours(i):
        return await gw.analyze(g.TYPE, g.CODE, use_cache=False)

    async def bare(i):
        return await provider.complete(call)

    for fn in (ours, bare):
        for i in range(200):
            await fn(i)
    got = await g.alternating({"aexy": ours, "bare": bare}, 300, 3)
    out["overhead"] = statistics.median(a - b for a, b in zip(got["aexy"], got["bare"]))
    await gw.aclose()
    print(json.dumps(out))

asyncio.run(main())
'''


def export(commit: str, into: Path) -> Path:
    archive = into / "base.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(REPO), "archive", commit], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "base", filter="data")
    return into / "base"


def burst(root: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(root / s) for s in SOURCES))
    done = subprocess.run([sys.executable, "-c", CHILD, str(root / "benchmarks")],
                          capture_output=True, text=True, env=env, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("commit")
    ap.add_argument("--bursts", type=int, default=12)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="aexy-ab-") as tmp:
        base = export(a.commit, Path(tmp))
        runs: dict[str, list[dict[str, float]]] = {"base": [], "tree": []}
        for _ in range(a.bursts):
            runs["base"].append(burst(base))
            runs["tree"].append(burst(REPO))
    print(f"{a.commit} (base) against this tree, {a.bursts} alternated bursts; us")
    for key in ("overhead", "hit_p50", "hit_p99"):
        before = [r[key] for r in runs["base"]]
        after = [r[key] for r in runs["tree"]]
        diffs = [y - x for x, y in zip(before, after, strict=True)]
        print(f"{key:<9} base {statistics.median(before):7.1f}   tree "
              f"{statistics.median(after):7.1f}   median paired difference "
              f"{statistics.median(diffs):+6.1f}")


if __name__ == "__main__":
    main()
