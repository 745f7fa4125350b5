"""The offline provider's code heuristics over real files, against reading the same files.

The corpus is real source: by default FILES files spread evenly over the sorted source files
(``.py``, ``.pyi``, ``.js``, ``.ts``, ``.c``, ``.h``, ``.cpp``, ``.go``, ``.rs``, ``.java``,
``.rb``, ``.sh``, ``.sql``) of this interpreter's site-packages and of the labelled evaluation
set (``aexy.eval``, when installed), at most 200 KB each; ``--corpus DIR`` takes every such file
under DIR instead. Each contender runs over the whole corpus in interleaved rounds:

- ``read``: each file opened and decoded, nothing else: the floor any tool pays;
- ``heuristics``: ``analyze_code`` on each file in this process, the work of one analysis;
- ``batch -j N``: ``aexy batch skill_extraction`` (``run_batch``) through the gateway with the
  offline provider, cache off, N analyses in flight, as the ``aexy`` command runs it: with
  ``AEXY_OFFLINE_WORKERS`` set to the number of CPUs, so that the analyses in flight while
  another one is go to that many worker processes;
- with ``--baseline-src DIR`` (another tree's ``core/src``, e.g. ``git archive main`` unpacked):
  ``baseline heuristics`` and ``baseline batch -j N``, the same work by that tree's code, in a
  child process per round (its start-up excluded), interleaved with the rest.

Figures: files per second (median over rounds) and the median of the per-round ratio to
``read``, and the load average before and after. Run ``python benchmarks/offline_heuristics.py
[--files 500] [--rounds 5] [--jobs 1,2,4]``.

``--same-answers-as DIR`` checks instead that this tree's code and the code in ``DIR`` (another
tree's ``core/src``) answer alike: every field of ``skill_extraction``, ``code_quality`` and
``code_complexity`` for every file of the corpus, compared as JSON text; it lists the files
whose answers differ and exits with status 1 if any do. A change made for speed alone must
pass it against the tree before the change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SUFFIXES = {".py", ".pyi", ".js", ".ts", ".c", ".h", ".cpp", ".go", ".rs", ".java", ".rb",
            ".sh", ".sql"}
MAX_BYTES = 200_000


def _eval_files(into: Path) -> list[Path]:
    """The labelled evaluation set's files, written out under ``into`` (none when the eval
    package is absent, as on a tree older than it)."""
    try:
        from aexy.eval.dataset import load_cases
    except ImportError:
        return []
    out = []
    for split in ("dev", "test"):
        for case in load_cases(split):
            path = into / split / case.id / Path(case.path).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(case.content, encoding="utf-8")
            out.append(path)
    return out


def corpus(files: int, root: Path | None, scratch: Path) -> list[Path]:
    if root is not None:
        found = sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        return [p for p in found if p.stat().st_size <= MAX_BYTES]
    site = Path(sysconfig.get_paths()["purelib"])
    found = sorted(p for p in site.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                   and 0 < p.stat().st_size <= MAX_BYTES)
    labelled = _eval_files(scratch)
    wanted = max(0, files - len(labelled))
    step = max(1, len(found) // max(1, wanted))
    return labelled + found[::step][:wanted]


def _read(paths: list[Path]) -> None:
    for p in paths:
        p.read_text(encoding="utf-8", errors="replace")


def _heuristics(paths: list[Path]) -> None:
    from aexy.providers.offline.code import analyze_code

    for p in paths:
        analyze_code(p.read_text(encoding="utf-8", errors="replace"), str(p))


def _batch(paths: list[Path], jobs: int) -> None:
    from aexy.cli.batch import run_batch

    # as the aexy command sets it (cli.main): worker processes, one per CPU
    os.environ.setdefault("AEXY_OFFLINE_WORKERS", str(os.cpu_count() or 1))
    errors: list[str] = []

    def write(record: dict[str, object]) -> None:
        if "error" in record:
            errors.append(json.dumps(record)[:200])

    asyncio.run(run_batch("skill_extraction", [str(p) for p in paths], provider="offline",
                          concurrency=jobs, use_cache=False, encoding="utf-8", write=write))
    if len(errors) > len(paths) // 10:
        raise SystemExit(f"{len(errors)} files failed, e.g. {errors[0]}")


_CHILD = """
import asyncio, json, sys, time
from pathlib import Path
paths = [Path(p) for p in json.loads(sys.stdin.read())]
what = sys.argv[1]
from aexy.providers.offline.code import analyze_code
from aexy.cli.batch import run_batch
started = time.perf_counter()
if what == "heuristics":
    for p in paths:
        analyze_code(p.read_text(encoding="utf-8", errors="replace"), str(p))
else:
    asyncio.run(run_batch("skill_extraction", [str(p) for p in paths], provider="offline",
                          concurrency=int(what), use_cache=False, encoding="utf-8",
                          write=lambda r: None))
print(time.perf_counter() - started)
"""


def _baseline(paths: list[Path], src: Path, what: str) -> float:
    """Seconds the baseline tree's code takes for ``what``, timed inside its own process."""
    env = {**os.environ, "PYTHONPATH": str(src),
           "AEXY_OFFLINE_WORKERS": str(os.cpu_count() or 1)}
    out = subprocess.run([sys.executable, "-c", _CHILD, what], input=json.dumps(
        [str(p) for p in paths]), capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


# Every answer of the three code types for each file, as JSON lines.
_ANSWERS = """
import json, sys
from pathlib import Path
from aexy.analysis import AnalysisRequest
from aexy.providers.offline import code
for p in json.loads(sys.stdin.read()):
    text = Path(p).read_text(encoding="utf-8", errors="replace")
    context = json.dumps({"file_path": p})
    print(json.dumps([p] + [getattr(code, kind)(AnalysisRequest(
        kind, text, json.loads(context), context)).model_dump_json()
        for kind in ("skill_extraction", "code_quality", "code_complexity")]))
"""


def _answers(paths: list[Path], src: Path | None) -> list[list[str]]:
    env = {**os.environ, "PYTHONPATH": str(src)} if src else dict(os.environ)
    out = subprocess.run([sys.executable, "-c", _ANSWERS], input=json.dumps(
        [str(p) for p in paths]), capture_output=True, text=True, env=env, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def same_answers(paths: list[Path], src: Path) -> int:
    """Compare this tree's answers with those of the code in ``src``; the files that differ."""
    mine, theirs = _answers(paths, None), _answers(paths, src)
    kinds = ("skill_extraction", "code_quality", "code_complexity")
    differ = [(a[0], [k for k, x, y in zip(kinds, a[1:], b[1:], strict=True) if x != y])
              for a, b in zip(mine, theirs, strict=True) if a != b]
    for path, which in differ:
        print(f"differs: {path} ({', '.join(which)})")
    print(f"{len(paths)} files, {3 * len(paths)} answers: {len(differ)} files answered "
          f"differently by {src}")
    return len(differ)


def main() -> None:
    # Cache off in every contender; no installed backend is contacted.
    os.environ.setdefault("AEXY_CACHE_BACKEND", "memory")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", default="1,2,4", help="comma-separated -j values")
    parser.add_argument("--corpus", type=Path, help="take every source file under DIR")
    parser.add_argument("--baseline-src", type=Path, help="another tree's core/src to compare")
    parser.add_argument("--same-answers-as", type=Path, metavar="DIR",
                        help="check that the code in DIR (a tree's core/src) answers alike")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpus(args.files, args.corpus, Path(tmp))
        for p in list(paths):  # files that are not UTF-8 text are not what batch reads
            try:
                p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                paths.remove(p)
        size = sum(p.stat().st_size for p in paths)
        by_suffix: dict[str, int] = {}
        for p in paths:
            by_suffix[p.suffix] = by_suffix.get(p.suffix, 0) + 1
        print(f"{len(paths)} files, {size / 1e6:.1f} MB: "
              + ", ".join(f"{k} {v}" for k, v in sorted(by_suffix.items(), key=lambda kv: -kv[1])))
        if args.same_answers_as:
            raise SystemExit(1 if same_answers(paths, args.same_answers_as) else 0)
        print("load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        contenders: dict[str, Callable[[], None]] = {
            "read": lambda: _read(paths),
            "heuristics (in process)": lambda: _heuristics(paths),
        }
        for j in (int(x) for x in args.jobs.split(",")):
            contenders[f"batch -j {j}"] = (lambda j=j: _batch(paths, j))
        baseline: dict[str, str] = {}
        if args.baseline_src:
            baseline["baseline heuristics"] = "heuristics"
            for j in (int(x) for x in args.jobs.split(",")):
                baseline[f"baseline batch -j {j}"] = str(j)
        times: dict[str, list[float]] = {name: [] for name in [*contenders, *baseline]}
        contenders["read"]()  # warm the page cache and the imports
        _heuristics(paths[:20])
        for r in range(args.rounds):
            for name, run in contenders.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
            for name, what in baseline.items():
                times[name].append(_baseline(paths, args.baseline_src, what))
            print(f"round {r + 1}: " + ", ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()),
                  file=sys.stderr)
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"{'contender':<26}{'files/s':>10}{'x read':>10}")
    for name, ts in times.items():
        ratio = statistics.median(t / b for t, b in zip(ts, times["read"], strict=True))
        print(f"{name:<26}{len(paths) / statistics.median(ts):>10.1f}{ratio:>10.1f}")


if __name__ == "__main__":
    main()
