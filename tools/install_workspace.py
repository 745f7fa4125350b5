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
NO_DEPS = {"aexy-fixture-incompatible"}


def main() -> int:
    targets = [ROOT / "core", *sorted(p for p in (ROOT / "plugins").glob("aexy-*") if
                                      (p / "pyproject.toml").exists())]
    if "--tests" in sys.argv:
        for folder in (ROOT / "tests" / "fixtures" / "plugins", ROOT / "examples" / "plugins"):
            targets += sorted(p for p in folder.glob("*") if (p / "pyproject.toml").exists())
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # A plugin made for another aexy-core: pip would refuse its range, so it goes in without
    # its dependencies, as it stays behind when a user upgrades aexy-core past it.
    stale = [t for t in targets if t.name in NO_DEPS]
    args = list(pip)
    for t in targets:
        if t not in stale:
            args += ["-e", str(t)]
    code = subprocess.call(args)
    for t in stale:
        code = code or subprocess.call([*pip, "--no-deps", "-e", str(t)])
    return code


if __name__ == "__main__":
    raise SystemExit(main())
