"""Build a wheel of every distribution, then install ``aexy-core`` with each provider plugin from
those wheels into a fresh virtualenv and check that the plugin is discovered and the command runs.

Run by ``tox -e wheels``. Third-party dependencies come from the package index as for any user.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from install_workspace import WITHOUT_DEPENDENCIES  # noqa: E402


def run(*args: str | Path, cwd: Path | None = None) -> str:
    out = subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True,
                         cwd=cwd)
    return out.stdout


def main() -> int:
    packages = [ROOT / "core", *sorted(p for p in (ROOT / "plugins").glob("aexy-*")
                                       if (p / "pyproject.toml").exists())]
    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp) / "dist"
        for pkg in packages:
            run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, pkg)
        wheels = sorted(w.name for w in dist.glob("*.whl"))
        print("built:", ", ".join(wheels))
        plugins = [p.name for p in packages[1:]]
        # The documented pair first, then everything together (catches clashing pins).
        combos = [["aexy-core", "aexy-ollama"] if "aexy-ollama" in plugins else ["aexy-core"],
                  ["aexy-core", *plugins]]
        for i, names in enumerate(combos):
            env = Path(tmp) / f"venv-{i}"
            venv.create(env, with_pip=True)
            py = env / "bin" / "python"
            pip = (py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--find-links", dist)
            run(*pip, *(n for n in names if n not in WITHOUT_DEPENDENCIES))
            # Its wheel and entry point are checked here; its heavy dependency in tox -e e2e.
            alone = [n for n in names if n in WITHOUT_DEPENDENCIES]
            if alone:
                run(*pip, "--no-deps", *alone)
            listed = json.loads(run(py, "-c", (
                "import json; from aexy.plugins import PluginHost; h = PluginHost(); "
                "print(json.dumps({'providers': h.providers().names(), "
                "'failed': [p.name for p in h.failed()]}))")))
            assert not listed["failed"], listed
            expected = {"offline"} | {
                n.removeprefix("aexy-") for n in names[1:] if n != "aexy-redis"}
            assert expected <= set(listed["providers"]), (names, listed)
            run(env / "bin" / "aexy", "--help", cwd=Path(tmp))
            print(f"ok: pip install {' '.join(names)} -> providers {listed['providers']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
