"""A plugin states the aexy-core releases it supports in its package metadata; one made for
another release is reported when plugins load (and never imported), not at call time."""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

import aexy
from aexy import LLMGateway, plugin_api
from aexy.errors import ProviderNotFoundError
from aexy.plugins import (
    PluginHost,
    core_requirement,
    incompatibility,
    simple_admits,
    suggested_range,
)


def by_name(host: PluginHost) -> dict[str, object]:
    return {p.name: p for p in host.plugins()}


def test_the_core_exposes_its_version_and_the_plugin_api_version() -> None:
    assert aexy.__version__ == importlib.metadata.version("aexy-core")
    assert aexy.PLUGIN_API_VERSION == plugin_api.PLUGIN_API_VERSION == "1.1"
    assert aexy.__version__ == plugin_api.CORE_VERSION


def test_a_plugin_for_another_core_is_reported_and_never_imported() -> None:
    host = PluginHost()
    info = by_name(host)["incompatible"]
    assert info.status == "incompatible"  # type: ignore[attr-defined]
    assert info.distribution == "aexy-fixture-incompatible"  # type: ignore[attr-defined]
    assert info.version == "3.0.0"  # type: ignore[attr-defined]
    assert info.requires_core == ">=99.0,<100"  # type: ignore[attr-defined]
    assert info.error == (  # type: ignore[attr-defined]
        "aexy-fixture-incompatible 3.0.0 supports aexy-core>=99.0,<100, but aexy-core 0.1.0 "
        "is installed (plugin API 1.1): install a release of aexy-fixture-incompatible made "
        "for aexy-core 0.1.0 (pip install --upgrade aexy-fixture-incompatible), or pip install "
        "'aexy-core>=99.0,<100'")
    assert "aexy_fixture_incompatible" not in sys.modules  # importing it would raise
    assert info in host.failed()


def test_asking_for_a_provider_of_an_incompatible_plugin_says_why() -> None:
    with pytest.raises(ProviderNotFoundError, match=re.escape("supports aexy-core>=99.0,<100")):
        LLMGateway(provider="incompatible", plugins=PluginHost())


def test_the_same_plugins_are_refused_by_a_core_outside_their_range() -> None:
    # Every shipped plugin declares aexy-core>=0.1,<0.2: a 0.2 core must not load them.
    host = PluginHost(core_version="0.2.0")
    infos = by_name(host)
    for name in ("acme", "example-sqlite", "ollama", "openai", "claude"):
        assert infos[name].status == "incompatible", name  # type: ignore[attr-defined]
    assert "ollama" not in host.providers().names()
    # A plugin requiring aexy-core without a range still loads.
    assert infos["echo"].status == "active"  # type: ignore[attr-defined]


def test_a_plugin_without_a_core_requirement_loads_with_a_warning() -> None:
    info = by_name(PluginHost())["lacking"]
    assert info.status == "active"  # type: ignore[attr-defined]
    assert info.requires_core is None  # type: ignore[attr-defined]
    assert info.warnings == (  # type: ignore[attr-defined]
        'aexy-fixture-lacking declares no aexy-core requirement; add "aexy-core>=0.1,<0.2" '
        "to its dependencies",)


def _dist(tmp_path: Path, *requires: str) -> importlib.metadata.Distribution:
    info = tmp_path / "aexy_probe-1.0.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", "Name: aexy-probe", "Version: 1.0"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    return importlib.metadata.PathDistribution(info)


@pytest.mark.parametrize(
    ("requires", "declared"),
    [
        (("aexy-core<0.2,>=0.1", "httpx>=0.27"), ">=0.1,<0.2"),
        (("Aexy_Core>=0.1",), ">=0.1"),  # names compare normalised
        (("aexy-core",), ""),
        (("httpx",), None),
        (("aexy-core>=5; extra == 'dev'", "aexy-core>=0.1"), ">=0.1"),  # extras say nothing
    ],
)
def test_the_declared_range_is_read_from_requires_dist(tmp_path: Path, requires: tuple[str, ...],
                                                       declared: str | None) -> None:
    assert core_requirement(_dist(tmp_path, *requires)) == declared


@pytest.mark.parametrize(
    ("spec", "core", "compatible"),
    [
        (">=0.1,<0.2", "0.1.0", True),
        (">=0.1,<0.2", "0.1.7", True),
        (">=0.1,<0.2", "0.2.0", False),
        (">=0.1,<0.2", "0.0.9", False),
        (">=0.1", "3.0", True),
        ("~=0.1.0", "0.1.4", True),
        ("~=0.1.0", "0.2.0", False),
        (">=0.1,<0.2", "0.2.0.dev1", False),
        (">=0.2.0.dev0", "0.2.0.dev1", True),  # pre-releases of the core are accepted
    ],
)
def test_compatibility(spec: str, core: str, compatible: bool) -> None:
    assert (incompatibility("aexy-x", "1.0", spec, core) is None) is compatible


def test_an_unreadable_range_is_reported_as_such() -> None:
    assert incompatibility("aexy-x", "1.0", ">=banana") == (
        "aexy-x 1.0 declares an unreadable aexy-core range '>=banana'")


@pytest.mark.parametrize(("core", "suggested"),
                         [("0.1.0", ">=0.1,<0.2"), ("0.9.3", ">=0.9,<0.10"),
                          ("1.4.2", ">=1.4,<2")])
def test_the_suggested_range_stops_before_the_next_api_break(core: str, suggested: str) -> None:
    assert suggested_range(core) == suggested


def test_every_shipped_plugin_declares_a_range_that_admits_this_core() -> None:
    root = Path(__file__).resolve().parents[2]
    for folder in (*root.glob("plugins/aexy-*"), *root.glob("examples/plugins/aexy-*")):
        if not (folder / "pyproject.toml").exists():
            continue
        name = folder.name
        dist = importlib.metadata.distribution(name)
        declared = core_requirement(dist)
        assert declared, f"{name} must declare the aexy-core releases it supports"
        assert "<" in declared, f"{name}: {declared!r} has no upper bound"
        assert incompatibility(name, dist.version, declared) is None


SPECS = [">=0.1,<0.2", ">=0.1", "<0.2", ">0.1", "<=0.1.5", "==0.1", "==0.1.0", "!=0.1.3",
         "~=0.1", "~=0.1.0", "~=1.4.2", ">=1,<2", "<1.0.0,>=0.9.9", ">= 0.1 , < 0.2"]
VERSIONS = ["0.1", "0.1.0", "0.1.3", "0.1.5", "0.1.6", "0.2", "0.2.0", "0.10.0", "0.9.9", "1",
            "1.4.2", "1.4.9", "1.5.0", "2.0.0", "0.0.9"]


@pytest.mark.parametrize("spec", SPECS)
def test_the_fast_range_check_agrees_with_packaging(spec: str) -> None:
    from packaging.specifiers import SpecifierSet

    for version in VERSIONS:
        assert simple_admits(spec, version) == SpecifierSet(spec).contains(version), (
            spec, version)


@pytest.mark.parametrize(("spec", "version"), [(">=0.1", "0.2.0rc1"), ("==0.1.*", "0.1.4"),
                                               (">=0.1", "0.1.0+local")])
def test_the_fast_range_check_leaves_the_rest_to_packaging(spec: str, version: str) -> None:
    assert simple_admits(spec, version) is None
    assert incompatibility("aexy-x", "1.0", spec, version) is None


def test_an_invalid_range_goes_to_packaging_and_is_reported() -> None:
    assert simple_admits("~=1", "1.2") is None  # ~= needs two release parts
    assert "unreadable aexy-core range '~=1'" in str(incompatibility("aexy-x", "1.0", "~=1"))
