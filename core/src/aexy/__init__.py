"""aexy: a provider-agnostic LLM gateway for typed code and developer analysis.

Names are imported on first use so that ``import aexy`` stays fast and pulls in no provider SDK.
The public names are listed once, in the ``TYPE_CHECKING`` block below: type checkers read it as
explicit re-exports, and :func:`__getattr__` reads the same block to know where each name lives.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from aexy.analysis import AnalysisRequest as AnalysisRequest
    from aexy.analysis import AnalysisResult as AnalysisResult
    from aexy.analysis import AnalysisSpec as AnalysisSpec
    from aexy.analysis import AnalysisType as AnalysisType
    from aexy.analysis import Provenance as Provenance
    from aexy.apps import PredictiveAnalyzer as PredictiveAnalyzer
    from aexy.apps import ProfileAnalyzer as ProfileAnalyzer
    from aexy.apps import TaskMatcher as TaskMatcher
    from aexy.catalogue.activity import ActivityBaseline as ActivityBaseline
    from aexy.catalogue.activity import ActivityPeriod as ActivityPeriod
    from aexy.catalogue.activity import CodeEvidence as CodeEvidence
    from aexy.catalogue.activity import DeveloperActivity as DeveloperActivity
    from aexy.catalogue.activity import TeamMetrics as TeamMetrics
    from aexy.completion import Completion as Completion
    from aexy.completion import CompletionRequest as CompletionRequest
    from aexy.completion import FinishReason as FinishReason
    from aexy.completion import Message as Message
    from aexy.completion import Usage as Usage
    from aexy.errors import AexyError as AexyError
    from aexy.errors import Attempt as Attempt
    from aexy.errors import ClosedError as ClosedError
    from aexy.errors import ConfigurationError as ConfigurationError
    from aexy.errors import ErrorCode as ErrorCode
    from aexy.errors import InvalidInputError as InvalidInputError
    from aexy.errors import InvalidOutputError as InvalidOutputError
    from aexy.errors import LLMError as LLMError
    from aexy.errors import LLMUnavailableError as LLMUnavailableError
    from aexy.errors import PluginConflictError as PluginConflictError
    from aexy.errors import ProviderNotFoundError as ProviderNotFoundError
    from aexy.errors import UnknownAnalysisTypeError as UnknownAnalysisTypeError
    from aexy.gateway import GatewayClosedError as GatewayClosedError
    from aexy.gateway import LLMGateway as LLMGateway
    from aexy.gateway import analyze_once as analyze_once
    from aexy.hookspecs import hookimpl as hookimpl
    from aexy.providers.base import Availability as Availability
    from aexy.providers.base import BaseLLMProvider as BaseLLMProvider
    from aexy.providers.base import ProviderSettings as ProviderSettings
    from aexy.providers.base import ProviderSpec as ProviderSpec
    from aexy.providers.base import RateLimits as RateLimits
    from aexy.settings import AexySettings as AexySettings

_exports: dict[str, str] | None = None


def _public() -> dict[str, str]:
    """``{name: module}`` read from the ``TYPE_CHECKING`` imports of this file, once."""
    global _exports
    if _exports is None:
        import ast
        from pathlib import Path

        tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
        block = next(node for node in tree.body if isinstance(node, ast.If)
                     and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        _exports = {alias.name: node.module for node in block.body
                    if isinstance(node, ast.ImportFrom) and node.module
                    for alias in node.names}
    return _exports


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return [*_public(), "__version__"]
    module = _public().get(name)
    if module is None:
        raise AttributeError(f"module 'aexy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*_public(), "__version__"])
