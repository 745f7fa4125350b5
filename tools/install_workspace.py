"""Install every package of the workspace (editable) in one pip call, so that each plugin's
``aexy-core`` requirement resolves to ./core and never to the package index.

Used by tox (``commands_pre``); the test fixtures' plugin packages and the example plugins
(``examples/plugins/*``, whose tests are part of the suite) are included with ``--tests``.
Packages in ``WITHOUT_DEPENDENCIES`` are installed without their dependencies (see there).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Installed alone, with ``--no-deps``:
#: - ``aexy-llamacpp``: llama-cpp-python has no wheel on the package index and builds from
#:   source for about fifteen minutes; only ``tox -e e2e`` installs it (with the build flags it
#:   needs), so the other environments get the plugin alone and test it against a fake model;
#: - ``aexy-fixture-incompatible``: a plugin made for another aexy-core, whose range pip would
#:   refuse; it stays behind like that when a user upgrades aexy-core past it.
WITHOUT_DEPENDENCIES = frozenset({"aexy-llamacpp", "aexy-fixture-incompatible"})


def main() -> int:
    targets = [ROOT / "core", *sorted(p for p in (ROOT / "plugins").glob("aexy-*") if
                                      (p / "pyproject.toml").exists())]
    if "--tests" in sys.argv:
        for folder in (ROOT / "tests" / "fixtures" / "plugins", ROOT / "examples" / "plugins"):
            targets += sorted(p for p in folder.glob("*") if (p / "pyproject.toml").exists())
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    light = [t for t in targets if t.name not in WITHOUT_DEPENDENCIES]
    alone = [t for t in targets if t.name in WITHOUT_DEPENDENCIES]
    code = subprocess.call([*pip, *(a for t in light for a in ("-e", str(t)))])
    if code == 0 and alone:
        code = subprocess.call([*pip, "--no-deps", *(a for t in alone for a in ("-e", str(t)))])
    return code


if __name__ == "__main__":
    raise SystemExit(main())
