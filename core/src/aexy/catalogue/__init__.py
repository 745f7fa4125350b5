"""The built-in analysis catalogue: one module per domain, each exporting ``SPECS``."""

from __future__ import annotations

from aexy.analysis import AnalysisSpec


def builtin_specs() -> list[AnalysisSpec]:
    from aexy.catalogue import code, predictive

    return [*code.SPECS, *predictive.SPECS]
