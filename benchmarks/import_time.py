"""Start-up cost of the core: fresh interpreters, median wall time against ``python -c pass``.

    python benchmarks/import_time.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass (baseline)": "pass",
    "import aexy": "import aexy",
    "from aexy import LLMGateway, AnalysisType": "from aexy import LLMGateway, AnalysisType",
    "PluginHost().providers() (every installed plugin)":
        "from aexy.plugins import PluginHost; PluginHost().providers()",
    "aexy --help": "import sys; sys.argv = ['aexy', '--help']\n"
                   "from aexy.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
}


def median_ms(code: str, runs: int) -> float:
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    results = {name: median_ms(code, args.runs) for name, code in CASES.items()}
    base = results["python -c pass (baseline)"]
    print(f"{'case':<52} {'median ms':>10} {'over baseline':>14}")
    for name, ms in results.items():
        print(f"{name:<52} {ms:>10.1f} {ms - base:>14.1f}")


if __name__ == "__main__":
    main()
