"""What the plugin contract costs when plugins load: the aexy-core range check of each entry
point and the record checks of each registry, in fresh interpreters.

    python benchmarks/plugin_load.py [--rounds 15]

Each round runs, in random order, one fresh interpreter per case: ``python -c pass``; loading
every installed plugin and building every registry with the contract (what ``aexy plugins``
does); and the same with the range check and the record checks switched off. The figure is
the median over rounds, and the median of the per-round ratio contract / unchecked.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

LOAD = ("from aexy.plugins import PluginHost\n"
        "host = PluginHost(); host.registries()\n"
        "print(len(host.plugins()), sum(len(r.items) for r in host.registries()))")
UNCHECKED = ("import dataclasses\n"
             "import aexy.plugins, aexy.plugin_checks as pc\n"
             "aexy.plugins.core_requirement = lambda dist: None\n"
             "for k in ('PROVIDERS', 'CACHE_BACKENDS', 'PROMPT_SOURCES', 'POSTPROCESSORS',\n"
             "          'ANALYSIS_TYPES', 'RATE_LIMITERS'):\n"
             "    setattr(pc, k, dataclasses.replace(getattr(pc, k), check=lambda r: []))\n"
             + LOAD)
CASES = {"python -c pass (baseline)": "pass",
         "load plugins + build registries, with the contract": LOAD,
         "the same, range check and record checks off": UNCHECKED}


def once(code: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return (time.perf_counter() - t0) * 1000, out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for code in CASES.values():
        once(code)  # warm the file cache
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.rounds):
        order = list(CASES.items())
        random.shuffle(order)
        for name, code in order:
            samples[name].append(once(code)[0])
    _, counts = once(LOAD)
    plugins, records = counts.split()
    print(f"{plugins} plugins, {records} records; {args.rounds} rounds")
    print(f"{'case':<52} {'median ms':>10}")
    for name, values in samples.items():
        print(f"{name:<52} {statistics.median(values):>10.1f}")
    checked = samples["load plugins + build registries, with the contract"]
    unchecked = samples["the same, range check and record checks off"]
    ratios = [c / u for c, u in zip(checked, unchecked, strict=True)]
    deltas = [c - u for c, u in zip(checked, unchecked, strict=True)]
    print(f"contract / unchecked: median ratio {statistics.median(ratios):.3f}, "
          f"median difference {statistics.median(deltas):+.1f} ms")


if __name__ == "__main__":
    main()
