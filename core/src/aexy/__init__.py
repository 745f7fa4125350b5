"""aexy: a provider-agnostic LLM gateway for typed code and developer analysis.

Names are imported on first use so that ``import aexy`` stays fast and pulls in no provider SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
#: The version of the plugin contract (``aexy.plugin_api``): the major part changes when a
#: record, base class or hook changes incompatibly, the minor part when one is added. A plugin
#: states the aexy-core releases it supports in its dependencies (``aexy-core>=0.1,<0.2``);
#: ``docs/writing-plugins.md`` maps API versions to core releases.
PLUGIN_API_VERSION = "1.0"

if TYPE_CHECKING:
    from aexy.analysis import (
        AnalysisRequest,
        AnalysisResult,
        AnalysisSpec,
        AnalysisType,
        Provenance,
    )
    from aexy.completion import Completion, CompletionRequest, FinishReason, Message, Usage
    from aexy.errors import (
        AexyError,
        Attempt,
        ConfigurationError,
        ErrorCode,
        InvalidInputError,
        InvalidOutputError,
        LLMError,
        LLMUnavailableError,
        PluginConflictError,
        ProviderNotFoundError,
        UnknownAnalysisTypeError,
    )
    from aexy.gateway import LLMGateway, analyze_once
    from aexy.hookspecs import hookimpl
    from aexy.providers.base import BaseLLMProvider, ProviderSettings, ProviderSpec, RateLimits
    from aexy.settings import AexySettings

_EXPORTS: dict[str, str] = {
    "LLMGateway": "aexy.gateway",
    "analyze_once": "aexy.gateway",
    "AnalysisType": "aexy.analysis",
    "AnalysisResult": "aexy.analysis",
    "AnalysisSpec": "aexy.analysis",
    "AnalysisRequest": "aexy.analysis",
    "Provenance": "aexy.analysis",
    "BaseLLMProvider": "aexy.providers.base",
    "ProviderSettings": "aexy.providers.base",
    "ProviderSpec": "aexy.providers.base",
    "RateLimits": "aexy.providers.base",
    "CompletionRequest": "aexy.completion",
    "Completion": "aexy.completion",
    "FinishReason": "aexy.completion",
    "Message": "aexy.completion",
    "Usage": "aexy.completion",
    "hookimpl": "aexy.hookspecs",
    "AexySettings": "aexy.settings",
    "AexyError": "aexy.errors",
    "Attempt": "aexy.errors",
    "ConfigurationError": "aexy.errors",
    "ErrorCode": "aexy.errors",
    "InvalidInputError": "aexy.errors",
    "InvalidOutputError": "aexy.errors",
    "LLMError": "aexy.errors",
    "LLMUnavailableError": "aexy.errors",
    "PluginConflictError": "aexy.errors",
    "ProviderNotFoundError": "aexy.errors",
    "UnknownAnalysisTypeError": "aexy.errors",
}

__all__ = [
    "PLUGIN_API_VERSION",
    "AexyError",
    "AexySettings",
    "AnalysisRequest",
    "AnalysisResult",
    "AnalysisSpec",
    "AnalysisType",
    "Attempt",
    "BaseLLMProvider",
    "Completion",
    "CompletionRequest",
    "ConfigurationError",
    "ErrorCode",
    "FinishReason",
    "InvalidInputError",
    "InvalidOutputError",
    "LLMError",
    "LLMGateway",
    "LLMUnavailableError",
    "Message",
    "PluginConflictError",
    "Provenance",
    "ProviderNotFoundError",
    "ProviderSettings",
    "ProviderSpec",
    "RateLimits",
    "UnknownAnalysisTypeError",
    "Usage",
    "__version__",
    "analyze_once",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aexy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
