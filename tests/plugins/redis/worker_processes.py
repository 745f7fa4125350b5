"""Python worker processes that a test starts together, releases at one moment and reads one
JSON report from each. A worker prints ``ready``, waits for a line on stdin (the go signal, e.g.
the time to start at), does its work and prints its report (JSON) as the rest of its output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from types import TracebackType
from typing import Any

__all__ = ["Workers"]


class Workers:
    """``with Workers(argvs) as w: w.go(line); reports = w.reports()``; a worker still running
    when the block ends (a failed assertion included) is killed."""

    def __init__(self, argvs: Sequence[Sequence[str]]) -> None:
        self.procs = [subprocess.Popen(list(argv), stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                      for argv in argvs]

    def __enter__(self) -> Workers:
        for proc in self.procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise AssertionError(f"a worker did not start: {proc.communicate()[1]}")
        return self

    def go(self, line: str) -> None:
        """Release every worker with ``line``."""
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{line}\n")
            proc.stdin.flush()

    def reports(self, timeout: float) -> list[dict[str, Any]]:
        """Each worker's report, once it has ended with status 0."""
        found = []
        for proc in self.procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, err
            found.append(json.loads(out))
        return found

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
