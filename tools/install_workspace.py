"""Install every package of the workspace (editable) in one pip call, so that each plugin's
``aexy-core`` requirement resolves to ./core and never to the package index.

Used by tox (``commands_pre``); the test fixtures' plugin packages and the example plugins
(``examples/plugins/*``, whose tests are part of the suite) are included with ``--tests``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    targets = [ROOT / "core", *sorted(p for p in (ROOT / "plugins").glob("aexy-*") if
                                      (p / "pyproject.toml").exists())]
    if "--tests" in sys.argv:
        for folder in (ROOT / "tests" / "fixtures" / "plugins", ROOT / "examples" / "plugins"):
            targets += sorted(p for p in folder.glob("*") if (p / "pyproject.toml").exists())
    args = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for t in targets:
        args += ["-e", str(t)]
    return subprocess.call(args)


if __name__ == "__main__":
    raise SystemExit(main())
