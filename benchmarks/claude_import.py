"""What deferring the ``anthropic`` import buys: wall time of fresh interpreters that

1. start Python and do nothing (the baseline every figure is relative to);
2. ``import aexy_claude`` and register it through the plugin host (what every aexy process
   with aexy-claude installed pays, whether or not it uses Claude);
3. ``import anthropic`` (what loading the plugin would cost if the SDK were imported eagerly);
4. build a ``ClaudeProvider`` and its ``AsyncAnthropic`` client (the first request pays this).

Run: ``python benchmarks/claude_import.py [runs]`` (default 7); prints medians in milliseconds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass (baseline)": "pass",
    "import aexy_claude + PluginHost": (
        "import aexy_claude\nfrom aexy.plugins import PluginHost\n"
        "PluginHost().providers().get('claude')"
    ),
    "import anthropic": "import anthropic",
    "ClaudeProvider + AsyncAnthropic client": (
        "from aexy_claude import ClaudeProvider, ClaudeSettings\n"
        "ClaudeProvider(ClaudeSettings(api_key='k'))._get_client()"
    ),
}


def run(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    for code in CASES.values():  # warm the OS file cache and .pyc files
        run(code)
    medians = {name: statistics.median(run(code) for _ in range(runs))
               for name, code in CASES.items()}
    base = medians["python -c pass (baseline)"]
    plugin = medians["import aexy_claude + PluginHost"] - base
    print(f"{'case':42} {'median ms':>10} {'over baseline':>14}")
    for name, ms in medians.items():
        print(f"{name:42} {ms:10.1f} {ms - base:14.1f}")
    sdk = medians["import anthropic"] - base
    print(f"\nimport anthropic costs {sdk / plugin:.1f}x what loading the plugin costs "
          f"({sdk:.0f} ms vs {plugin:.0f} ms over a bare interpreter); {runs} runs each")


if __name__ == "__main__":
    main()
