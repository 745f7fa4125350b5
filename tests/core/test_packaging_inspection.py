"""tools/check_packaging.py's inspection of a built package: what it refuses to publish."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from tools.check_packaging import inspect_wheel

README = ("# aexy-thing\n\nA plugin for [aexy](https://github.com/aexy/aexy) that does a thing "
          "worth a paragraph of explanation, so that the page on the index is not a stub. "
          "It has usage notes, a table of settings and a link to the manual.\n")
GOOD_META = {
    "Metadata-Version": "2.4", "Name": "aexy-thing", "Version": "0.1.0",
    "Summary": "A thing for aexy", "Author": "aexy developers", "License-Expression": "MIT",
    "Requires-Python": ">=3.11", "Description-Content-Type": "text/markdown",
    "Classifier": ["Typing :: Typed", "Programming Language :: Python :: 3.11"],
    "Project-URL": ["Source, https://github.com/aexy/aexy", "Issues, https://github.com/x/y"],
    "Requires-Dist": ["aexy-core<0.2,>=0.1"],
}


def build(tmp: Path, meta: dict[str, object], readme: str = README, *, license: bool = True,
          typed: bool = True) -> tuple[Path, Path]:
    lines = []
    for key, value in meta.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {v}")
    wheel = tmp / "aexy_thing-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("aexy_thing-0.1.0.dist-info/METADATA", "\n".join(lines) + "\n\n" + readme)
        if license:
            zf.writestr("aexy_thing-0.1.0.dist-info/licenses/LICENSE", "MIT License\n")
        if typed:
            zf.writestr("aexy_thing/py.typed", "")
    sdist = tmp / "aexy_thing-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for name in ("LICENSE", "README.md", "pyproject.toml") if license else (
                "README.md", "pyproject.toml"):
            data = b"x"
            info = tarfile.TarInfo(f"aexy_thing-0.1.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return wheel, sdist


def test_a_complete_package_passes(tmp_path: Path) -> None:
    assert inspect_wheel("aexy-thing", *build(tmp_path, GOOD_META)) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"license": False}, "the wheel has no LICENSE"),
        ({"typed": False}, "the wheel has no py.typed"),
        ({"readme": README + "\nSee [the docs](docs/index.md).\n"},
         "the README links to 'docs/index.md', which is relative"),
        ({"readme": "# thing\n"}, "the README (long description) is missing or a stub"),
        ({"meta": {**GOOD_META, "Classifier": ["Programming Language :: Python :: 3.11"]}},
         "no 'Typing :: Typed' classifier"),
        ({"meta": {**GOOD_META, "Project-URL": ["Source, https://github.com/aexy/aexy"]}},
         "no issues URL"),
        ({"meta": {**GOOD_META, "Requires-Dist": ["aexy-core>=0.1"]}},
         "Requires-Dist does not bound aexy-core"),
        ({"meta": {k: v for k, v in GOOD_META.items() if k != "License-Expression"}},
         "metadata has no License-Expression"),
    ],
)
def test_an_incomplete_package_is_refused(tmp_path: Path, change: dict[str, object],
                                          problem: str) -> None:
    meta = change.get("meta", GOOD_META)
    readme = change.get("readme", README)
    wheel, sdist = build(tmp_path, meta, readme,  # type: ignore[arg-type]
                         license=bool(change.get("license", True)),
                         typed=bool(change.get("typed", True)))
    problems = inspect_wheel("aexy-thing", wheel, sdist)
    assert any(problem in p for p in problems), problems


def test_every_package_ships_the_projects_license() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "LICENSE").read_text()
    assert text.startswith("MIT License")
    folders = [root / "core", *root.glob("plugins/aexy-*"), *root.glob("examples/plugins/aexy-*")]
    packages = [f for f in folders if (f / "pyproject.toml").exists()]
    assert len(packages) >= 6
    wrong = [f.name for f in packages
             if not (f / "LICENSE").exists() or (f / "LICENSE").read_text() != text]
    assert not wrong, f"copy LICENSE into {wrong}"
