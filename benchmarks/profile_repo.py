"""``aexy profile REPO --all -o DIR`` with the offline provider on a real repository, against
the ``git log`` it runs.

Each round runs, one after the other (interleaved, so both see the same machine):

- ``git log`` alone: the ``git log -z --numstat`` command ``read_history`` streams, its
  output thrown away;
- ``aexy profile``: the whole command as a user runs it (a new process: start-up, reading the
  history, samples through ``git cat-file``, ``skill_extraction`` and ``developer_profile``
  with the offline provider, the reports written to a new directory, the team table). The
  cache is the memory tier only, so nothing is carried over between rounds.

It prints the median wall time of each, the median ratio, the peak memory of the ``aexy``
process (``wait4``), and the size of the reports written. ``--include-inactive`` profiles
everyone who ever committed instead of the active team.

    python benchmarks/profile_repo.py ~/src/httpx [--rounds 5] [--include-inactive]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aexy.apps.git import _FORMAT


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               AEXY_CACHE_BACKEND="memory", LLM_PROVIDER="offline")
    return env


def git_log(repo: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["git", "-C", str(repo), "log", "-z", "--numstat", "--find-renames",
                    "--no-merges", f"--format={_FORMAT}", "HEAD", "--"],
                   stdout=subprocess.DEVNULL, check=True, env=_env())
    return time.perf_counter() - started


def aexy_profile(repo: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall time and peak memory (MiB) of one ``aexy profile --all`` process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "aexy.cli", "profile", str(repo), "--all",
                             "-o", str(out), *extra], stdout=subprocess.DEVNULL, env=_env())
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: an analysis failed, still a complete run
        raise SystemExit(f"aexy profile exited {code}")
    return elapsed, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--include-inactive", action="store_true")
    args = parser.parse_args(argv)
    extra = ["--include-inactive"] if args.include_inactive else []
    git_times: list[float] = []
    aexy_times: list[float] = []
    peaks: list[float] = []
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            out = Path(tmp) / f"round{n}"
            g = git_log(args.repo)
            a, peak = aexy_profile(args.repo, out, extra)
            git_times.append(g)
            aexy_times.append(a)
            peaks.append(peak)
            ratios.append(a / g)
        files = list((Path(tmp) / "round0").glob("*.json"))
        size = sum(f.stat().st_size for f in files)
    print(f"{'contender':<22}{'median s':>10}{'min s':>10}")
    print(f"{'git log alone':<22}{statistics.median(git_times):>10.3f}{min(git_times):>10.3f}")
    print(f"{'aexy profile --all':<22}{statistics.median(aexy_times):>10.3f}"
          f"{min(aexy_times):>10.3f}")
    print(f"median ratio aexy profile / git log: {statistics.median(ratios):.2f}x; peak memory "
          f"{max(peaks):.0f} MiB; {len(files)} reports, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
