"""Reading a repository's history into per-author activity (``aexy.apps.read_history``),
against ``git log`` itself.

By default a repository is generated with ``git fast-import`` (COMMITS commits by 12 authors
over two years, 1-4 files changed per commit in several languages, one ``.mailmap`` alias, some
renames); ``--repo PATH`` measures a real one instead (e.g. a clone of encode/httpx). Each
contender runs in interleaved rounds:

- ``git log`` alone: the same ``git log -z --numstat`` command with its output thrown away,
  the floor any reader of git history pays;
- ``read_history``: that command streamed and folded into activity per author and week (plus
  the list of files at the revision, for code areas).

The figure to quote is the median ratio ``read_history / git log`` over the rounds, with the
median wall time of each, and the peak memory of a process that only reads the history. No
provider is involved.

    python benchmarks/git_activity.py [--commits 10000] [--rounds 5]
    python benchmarks/git_activity.py --repo ~/src/httpx [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aexy.apps.git import _FORMAT, read_history

LANGUAGES = [(".py", "def f{n}(x):\n    return x + {n}\n"),
             (".ts", "export const f{n} = (x: number) => x + {n};\n"),
             (".go", "func F{n}(x int) int {{ return x + {n} }}\n"),
             (".sql", "SELECT {n} FROM t;\n"),
             (".md", "Line {n} of the docs.\n")]
AUTHORS = [(f"Dev {i}", f"dev{i}@example.com") for i in range(12)]
START = 1_672_531_200  # 2023-01-01T00:00:00Z


def _isolated_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


def generate(repo: Path, commits: int, seed: int = 7) -> None:
    """A repository with ``commits`` commits, written by one ``git fast-import`` stream."""
    rng = random.Random(seed)
    env = _isolated_env()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    files: dict[str, list[str]] = {}
    out: list[bytes] = []

    def blob_data(text: str) -> None:
        data = text.encode()
        out.append(b"data %d\n" % len(data) + data + b"\n")

    when = START
    for n in range(commits):
        name, email = AUTHORS[rng.randrange(len(AUTHORS))]
        if n % 50 == 7:
            email = "dev3@old.example.com" if name == "Dev 3" else email
        when += rng.randint(600, 10_000)
        offset = rng.choice(["+0000", "+0100", "-0500", "+0530", "-0800"])
        header = (f"commit refs/heads/main\nauthor {name} <{email}> {when} {offset}\n"
                  f"committer {name} <{email}> {when} {offset}\n")
        out.append(header.encode())
        blob_data(f"change {n}")  # the message; fast-import chains commits on the branch
        for _ in range(rng.randint(1, 4)):
            if files and rng.random() < 0.7:
                path = rng.choice(list(files))
            else:
                ext, _template = rng.choice(LANGUAGES)
                path = f"pkg{rng.randrange(20)}/mod{len(files)}{ext}"
                files[path] = []
            template = next(t for e, t in LANGUAGES if path.endswith(e))
            lines = files[path]
            lines += [template.format(n=n + k) for k in range(rng.randint(1, 12))]
            if len(lines) > 40:
                del lines[: rng.randint(1, 10)]
            out.append(f"M 100644 inline {path}\n".encode())
            blob_data("".join(lines))
        if n % 400 == 399 and files:  # a rename now and then
            old = rng.choice(list(files))
            new = old.replace("/mod", "/moved_mod", 1)
            if new not in files:
                out.append(f"R {old} {new}\n".encode())
                files[new] = files.pop(old)
    mailmap = "Dev 3 <dev3@example.com> <dev3@old.example.com>\n"
    out.append(b"commit refs/heads/main\n" + (
        f"author Dev 0 <dev0@example.com> {when + 60} +0000\n"
        f"committer Dev 0 <dev0@example.com> {when + 60} +0000\n").encode())
    blob_data("mailmap")
    out.append(b"M 100644 inline .mailmap\n")
    blob_data(mailmap)
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=b"".join(out),
                   check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "reset", "-q", "--hard", "main"], check=True,
                   env=env)


def git_log_only(repo: Path) -> float:
    """The ``git log`` that ``read_history`` runs, its output thrown away."""
    started = time.perf_counter()
    subprocess.run(["git", "-C", str(repo), "log", "-z", "--numstat", "--find-renames",
                    "--no-merges", f"--format={_FORMAT}", "HEAD", "--"],
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def peak_rss_mib(repo: Path) -> float:
    """Peak resident memory of a fresh process that imports aexy and reads the history."""
    code = ("import sys; from aexy.apps.git import read_history; "
            "h = read_history(sys.argv[1]); print(h.commits)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(repo)],
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def aexy_read(repo: Path) -> float:
    started = time.perf_counter()
    history = read_history(repo)
    elapsed = time.perf_counter() - started
    assert history.commits > 0
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repo", type=Path, help="measure this repository instead of a "
                                                  "generated one")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(_isolated_env())
        if args.repo is not None:
            repo = args.repo
        else:
            repo = Path(tmp) / "repo"
            started = time.perf_counter()
            generate(repo, args.commits)
            print(f"generated {args.commits} commits in {time.perf_counter() - started:.1f} s")
        history = read_history(repo)
        active_weeks = sum(len(a.activity.periods) for a in history.authors.values())
        print(f"read: {history.commits} commits, {len(history.authors)} authors, "
              f"{active_weeks} author-weeks with commits stored")
        git_times: list[float] = []
        aexy_times: list[float] = []
        ratios: list[float] = []
        for _ in range(args.rounds):  # interleaved: both see the same machine state
            g = git_log_only(repo)
            a = aexy_read(repo)
            git_times.append(g)
            aexy_times.append(a)
            ratios.append(a / g)
        print(f"{'contender':<16}{'median s':>10}{'min s':>10}")
        print(f"{'git log alone':<16}{statistics.median(git_times):>10.3f}{min(git_times):>10.3f}")
        print(f"{'read_history':<16}{statistics.median(aexy_times):>10.3f}"
              f"{min(aexy_times):>10.3f}")
        rate = history.commits / statistics.median(aexy_times)
        print(f"median ratio read_history / git log: {statistics.median(ratios):.2f}x; "
              f"{rate:,.0f} commits/s; peak memory of a process reading it: "
              f"{peak_rss_mib(repo):.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
