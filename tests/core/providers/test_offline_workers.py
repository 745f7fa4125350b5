"""The offline provider's worker processes: never in a library caller's process unless asked
(a worker imports the caller's main script again, and an unguarded script would run twice),
one per CPU under the ``aexy`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = '''
import asyncio
from aexy import LLMGateway

async def main():
    async with LLMGateway(cache=False) as gateway:
        results = await asyncio.gather(*(
            gateway.analyze("skill_extraction", f"import os\\nx = {i}\\n",
                            context={"file_path": f"m{i}.py"}) for i in range(6)))
    print("OK", len(results))

asyncio.run(main())
'''


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env={"PATH": "", "AEXY_CACHE_BACKEND":
                                                          "memory"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["OK 6"]
    assert "Traceback" not in done.stderr


def test_the_aexy_command_uses_a_worker_per_cpu() -> None:
    code = ("import os, aexy.cli\n"
            "try:\n    aexy.cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print('WORKERS', os.environ['AEXY_OFFLINE_WORKERS'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PATH": ""}).stdout
    assert out.splitlines()[-1] == f"WORKERS {__import__('os').cpu_count() or 1}"


def test_workers_that_die_leave_the_work_to_this_process_with_one_warning(
        tmp_path: Path) -> None:
    # Asked for worker processes, an unguarded script makes each worker run it again, and
    # the worker dies: the analyses are computed here instead, and the reason is said once.
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120,
                          env={"PATH": "", "AEXY_CACHE_BACKEND": "memory",
                               "AEXY_OFFLINE_WORKERS": "2"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "OK 6"
    assert done.stderr.count("the offline provider's worker processes stopped") == 1
    assert 'if __name__ == "__main__":' in done.stderr
