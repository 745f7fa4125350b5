"""The packaging check (``tox -e packaging``): what a user gets from the package index.

1. A wheel and an sdist of every package (``core``, ``plugins/aexy-*``,
   ``examples/plugins/aexy-*``), each with its LICENSE, complete metadata (description, a
   README that renders on the index without repository-relative links, license, classifiers
   with ``Typing :: Typed``, Source and Issues URLs, ``py.typed``; plugins: the aexy-core range
   they support), and ``twine check --strict``.
2. A fresh venv with ``pip install aexy-core aexy-ollama`` from those wheels: ``aexy plugins``
   lists ollama, an analysis reaches a loopback Ollama stub, and after
   ``pip uninstall aexy-ollama`` it is gone and asking for it is a clear error.
3. A fresh venv with every package: every plugin loads, and the example provider and cache
   backend are discovered and run an analysis through the gateway against a loopback stub,
   the second process answering from the first one's cache.

Third-party dependencies come from the package index as for any user; no request leaves the
machine (the stubs listen on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Markdown links and images whose target is not absolute break on the package index.
_RELATIVE_LINK = re.compile(r"!?\[[^\]]*\]\((?!https?://|mailto:|#)([^)\s]+)\)")
_SAMPLE = "import pandas as pd\n\ndef load(path):\n    return pd.read_csv(path)\n"


def run(*args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env=dict(env) if env is not None else None)
    if check and done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(map(str, args))}\n"
                         f"{done.stdout}\n{done.stderr}")
    return done


def packages() -> list[Path]:
    found = [ROOT / "core"]
    for folder in (ROOT / "plugins", ROOT / "examples" / "plugins"):
        found += sorted(p for p in folder.glob("aexy-*") if (p / "pyproject.toml").exists())
    return found


# -- 1: build and inspect -------------------------------------------------------------------------
def build(dist: Path) -> dict[str, tuple[Path, Path]]:
    """``{distribution name: (wheel, sdist)}``, built without isolation (hatchling is here)."""
    built: dict[str, tuple[Path, Path]] = {}
    for pkg in packages():
        out = dist / pkg.name
        run(sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
            "--outdir", out, pkg)
        (wheel,) = out.glob("*.whl")
        (sdist,) = out.glob("*.tar.gz")
        built[wheel.name.split("-")[0].replace("_", "-")] = (wheel, sdist)
    return built


def inspect_wheel(name: str, wheel: Path, sdist: Path) -> list[str]:
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode())
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        problems.append("the wheel has no LICENSE")
    if not any(n.endswith("/py.typed") for n in names):
        problems.append("the wheel has no py.typed")
    for field in ("Summary", "License-Expression", "Requires-Python", "Author"):
        if not meta.get(field):
            problems.append(f"metadata has no {field}")
    if meta.get("Description-Content-Type") != "text/markdown":
        problems.append("the README is not declared as text/markdown")
    classifiers = meta.get_all("Classifier") or []
    if "Typing :: Typed" not in classifiers:
        problems.append("no 'Typing :: Typed' classifier")
    if not any(c.startswith("Programming Language :: Python :: 3.11") for c in classifiers):
        problems.append("no Python version classifier")
    urls = {u.split(",", 1)[0].strip().lower() for u in meta.get_all("Project-URL") or []}
    problems += [f"no {u} URL" for u in ("source", "issues") if u not in urls]
    readme = meta.get_payload()
    if not isinstance(readme, str) or len(readme.strip()) < 200:
        problems.append("the README (long description) is missing or a stub")
    else:
        problems += [f"the README links to {t!r}, which is relative: it will not resolve on "
                     "the package index" for t in _RELATIVE_LINK.findall(readme)]
    if name != "aexy-core":
        core = [r for r in meta.get_all("Requires-Dist") or [] if r.startswith("aexy-core")]
        if not core or "<" not in core[0]:
            problems.append(f"Requires-Dist does not bound aexy-core ({core}): declare the "
                            "supported range, e.g. aexy-core>=0.1,<0.2")
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[-1] for m in tf.getmembers()}
    problems += [f"the sdist has no {f}" for f in ("LICENSE", "README.md", "pyproject.toml")
                 if f not in members]
    return [f"{name}: {p}" for p in problems]


# -- 2, 3: fresh virtual environments -------------------------------------------------------------
#: The user cache directory of every aexy command run here; main() points it into its temp dir.
_CACHE_HOME = Path(tempfile.gettempdir()) / "aexy-packaging-cache"


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any aexy or provider setting, plus ``extra``."""
    prefixes = ("LLM_", "AEXY_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "CLAUDE_", "REDIS_",
                "ACME_", "EXAMPLE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    # A new user's empty cache, not this machine's: the sqlite cache is aexy's default.
    env["XDG_CACHE_HOME"] = str(_CACHE_HOME)
    env.update(extra)
    return env


#: Installed from their wheels without their dependencies: llama-cpp-python builds from source
#: for many minutes (``tox -e e2e`` builds and tests it); the plugin loads without it.
WITHOUT_DEPENDENCIES = frozenset({"aexy-llamacpp"})


def fresh_venv(where: Path, dist: Path, names: list[str], versions: Mapping[str, str]) -> Path:
    venv.create(where, with_pip=True)
    py = where / "bin" / "python"
    links: list[str] = []
    for folder in sorted(dist.iterdir()):
        links += ["--find-links", str(folder)]
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *links]
    # Pinned: never a release from the index.
    run(*pip, *(f"{n}=={versions[n]}" for n in names if n not in WITHOUT_DEPENDENCIES))
    alone = [f"{n}=={versions[n]}" for n in names if n in WITHOUT_DEPENDENCIES]
    if alone:
        run(*pip, "--no-deps", *alone)
    return where / "bin"


@contextmanager
def stub(api: str, python: Path, tmp: Path) -> Iterator[tuple[str, Path]]:
    """The loopback stub of ``api`` in its own process; yields its URL and request log."""
    port_file, log = tmp / f"{api}.port", tmp / f"{api}.log"
    log.write_text("")
    proc = subprocess.Popen([str(python), str(ROOT / "tools" / "loopback_stubs.py"), api,
                             "--port-file", str(port_file), "--log", str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):  # up to ~10 s for an interpreter to start
            if port_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        if not port_file.exists():
            error = proc.stderr.read() if proc.stderr else ""
            raise SystemExit(f"the {api} stub did not start: {error}")
        yield f"http://127.0.0.1:{port_file.read_text().strip()}", log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def aexy_json(bin_dir: Path, *args: str, env: Mapping[str, str], cwd: Path) -> object:
    return json.loads(run(bin_dir / "aexy", *args, "--json", env=env, cwd=cwd).stdout)


def check_core_with_ollama(tmp: Path, dist: Path, versions: Mapping[str, str]) -> None:
    bin_dir = fresh_venv(tmp / "venv-ollama", dist, ["aexy-core", "aexy-ollama"], versions)
    work = tmp / "work-ollama"
    work.mkdir()
    (work / "etl.py").write_text(_SAMPLE)
    env = clean_env()
    listed = aexy_json(bin_dir, "plugins", env=env, cwd=work)
    assert isinstance(listed, dict)
    status = {p["name"]: p["status"] for p in listed["plugins"]}
    assert status == {"aexy": "active", "ollama": "active"}, listed
    assert not listed["hook_errors"], listed["hook_errors"]
    with stub("ollama", bin_dir / "python", tmp) as (url, log):
        env = clean_env(LLM_PROVIDER="ollama", OLLAMA_BASE_URL=url, OLLAMA_MODEL="llama3.2")
        rows = aexy_json(bin_dir, "providers", "--check", env=env, cwd=work)
        assert isinstance(rows, list)
        assert any(r["name"] == "ollama" and r["available"] for r in rows), rows
        out = aexy_json(bin_dir, "analyze", "skill_extraction", "etl.py", env=env, cwd=work)
        assert isinstance(out, dict)
        assert out["provenance"]["provider"] == "ollama", out["provenance"]
        assert out["provenance"]["cache_hit"] is False
        assert log.read_text().splitlines().count("POST /api/chat") == 1, log.read_text()
    print(f"ok: pip install aexy-core aexy-ollama -> plugins {sorted(status)}; "
          f"analysis through ollama at {url}")
    run(bin_dir / "python", "-m", "pip", "uninstall", "--quiet", "-y", "aexy-ollama")
    listed = aexy_json(bin_dir, "plugins", env=clean_env(), cwd=work)
    assert isinstance(listed, dict)
    assert [p["name"] for p in listed["plugins"]] == ["aexy"], listed
    gone = run(bin_dir / "aexy", "analyze", "skill_extraction", "etl.py",
               env=clean_env(LLM_PROVIDER="ollama"), cwd=work, check=False)
    assert gone.returncode == 2, gone  # a provider not installed: a usage error (docs/cli.md)
    assert "provider 'ollama' is not available" in gone.stderr, gone.stderr
    print("ok: pip uninstall aexy-ollama -> gone; asking for it is a clear error")


def check_everything(tmp: Path, dist: Path, versions: Mapping[str, str]) -> None:
    names = sorted(versions)
    bin_dir = fresh_venv(tmp / "venv-all", dist, names, versions)
    work = tmp / "work-all"
    work.mkdir()
    (work / "etl.py").write_text(_SAMPLE)
    listed = aexy_json(bin_dir, "plugins", env=clean_env(), cwd=work)
    assert isinstance(listed, dict)
    bad = [p for p in listed["plugins"] if p["status"] != "active" or p["warnings"]]
    assert not bad, bad
    assert not listed["hook_errors"], listed["hook_errors"]
    assert not listed["conflicts"], listed["conflicts"]
    plugins = {p["name"] for p in listed["plugins"]}
    assert {"acme", "example-sqlite"} <= plugins, plugins
    with stub("acme", bin_dir / "python", tmp) as (url, log):
        env = clean_env(LLM_PROVIDER="acme", ACME_BASE_URL=url, ACME_API_KEY="sk-packaging",
                        AEXY_CACHE_BACKEND="example-sqlite",
                        EXAMPLE_SQLITE_PATH=str(work / "cache.sqlite3"))
        config = aexy_json(bin_dir, "config", env=env, cwd=work)
        assert isinstance(config, dict)
        assert config["cache:example-sqlite"]["EXAMPLE_SQLITE_PATH"] == str(work / "cache.sqlite3")
        assert config["acme"]["ACME_API_KEY"] != "sk-packaging"  # masked
        first = aexy_json(bin_dir, "analyze", "skill_extraction", "etl.py", env=env, cwd=work)
        second = aexy_json(bin_dir, "analyze", "skill_extraction", "etl.py", env=env, cwd=work)
        assert isinstance(first, dict)
        assert isinstance(second, dict)
        assert first["provenance"]["provider"] == "acme", first["provenance"]
        assert (first["provenance"]["cache_hit"], second["provenance"]["cache_hit"]) == (
            False, True), (first["provenance"], second["provenance"])
        assert first["result"] == second["result"]
        assert log.read_text().splitlines().count("POST /v1/generate") == 1, log.read_text()
    print(f"ok: pip install {' '.join(names)} -> plugins {sorted(plugins)}; acme through "
          "the gateway, the second process served by the example-sqlite cache")


def main() -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aexy-packaging-") as tmp_name:
        tmp = Path(tmp_name)
        global _CACHE_HOME
        _CACHE_HOME = tmp / "user-cache"
        dist = tmp / "dist"
        built = build(dist)
        print("built:", ", ".join(f"{w.name} + {s.name}" for w, s in built.values()))
        problems = [p for name, (w, s) in built.items() for p in inspect_wheel(name, w, s)]
        if problems:
            raise SystemExit("packaging problems:\n  " + "\n  ".join(problems))
        files = [str(f) for pair in built.values() for f in pair]
        run(sys.executable, "-m", "twine", "check", "--strict", *files)
        print(f"ok: metadata, LICENSE and README of {len(built)} packages; twine check --strict")
        versions = {name: w.name.split("-")[1] for name, (w, _) in built.items()}
        check_core_with_ollama(tmp, dist, versions)
        check_everything(tmp, dist, versions)
    print(f"packaging check passed in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
