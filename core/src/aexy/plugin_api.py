"""The plugin contract: every record, base class, error and helper a plugin needs, from one place.

::

    from aexy.plugin_api import BaseLLMProvider, ProviderSettings, ProviderSpec, hookimpl

Everything a plugin may rely on is named here; anything else in ``aexy`` may change between
releases without notice. ``PLUGIN_API_VERSION`` versions this module: its major part changes
when a name here changes incompatibly (and with it the aexy-core minor, while aexy-core is 0.x),
its minor part when a name is added. ``docs/plugins.md`` documents every record field by field;
``docs/writing-plugins.md`` walks from an empty folder to a published plugin. Names are
imported on first use, so that loading a plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aexy import PLUGIN_API_VERSION, __version__

if TYPE_CHECKING:
    from aexy.analysis import AnalysisRequest, AnalysisResult, AnalysisSpec
    from aexy.cache import CacheBackend, CacheBackendSpec
    from aexy.completion import Completion, CompletionRequest, FinishReason, Message, Usage
    from aexy.errors import (
        RETRYABLE_CODES,
        AexyError,
        ConfigurationError,
        ErrorCode,
        InvalidInputError,
        LLMError,
    )
    from aexy.hookspecs import hookimpl
    from aexy.postprocess import PostProcessor
    from aexy.prompts import Prompt, PromptSource, PromptTemplate
    from aexy.providers.base import BaseLLMProvider, ProviderSettings, ProviderSpec, RateLimits
    from aexy.ratelimit import RateLimiter, RateLimiterSpec, RateLimitWaitError
    from aexy.redact import public_url, scrub
    from aexy.resilience.retry import parse_retry_after
    from aexy.settings import PluginSettings

#: The running aexy-core release.
CORE_VERSION = __version__

_EXPORTS: dict[str, str] = {
    # hooks
    "hookimpl": "aexy.hookspecs",
    # providers
    "BaseLLMProvider": "aexy.providers.base",
    "ProviderSettings": "aexy.providers.base",
    "ProviderSpec": "aexy.providers.base",
    "RateLimits": "aexy.providers.base",
    "CompletionRequest": "aexy.completion",
    "Completion": "aexy.completion",
    "Message": "aexy.completion",
    "Usage": "aexy.completion",
    "FinishReason": "aexy.completion",
    # settings of any plugin (cache backends, ...)
    "PluginSettings": "aexy.settings",
    # cache backends
    "CacheBackend": "aexy.cache",
    "CacheBackendSpec": "aexy.cache",
    # prompts, post-processors, analysis types
    "Prompt": "aexy.prompts",
    "PromptSource": "aexy.prompts",
    "PromptTemplate": "aexy.prompts",
    "PostProcessor": "aexy.postprocess",
    "AnalysisSpec": "aexy.analysis",
    "AnalysisResult": "aexy.analysis",
    "AnalysisRequest": "aexy.analysis",
    # rate limiters
    "RateLimiter": "aexy.ratelimit",
    "RateLimiterSpec": "aexy.ratelimit",
    "RateLimitWaitError": "aexy.ratelimit",
    # errors
    "AexyError": "aexy.errors",
    "ConfigurationError": "aexy.errors",
    "ErrorCode": "aexy.errors",
    "InvalidInputError": "aexy.errors",
    "LLMError": "aexy.errors",
    "RETRYABLE_CODES": "aexy.errors",
    # helpers every provider needs: one implementation each, in the core
    "parse_retry_after": "aexy.resilience.retry",
    "public_url": "aexy.redact",
    "scrub": "aexy.redact",
}

__all__ = [
    "CORE_VERSION",
    "PLUGIN_API_VERSION",
    "RETRYABLE_CODES",
    "AexyError",
    "AnalysisRequest",
    "AnalysisResult",
    "AnalysisSpec",
    "BaseLLMProvider",
    "CacheBackend",
    "CacheBackendSpec",
    "Completion",
    "CompletionRequest",
    "ConfigurationError",
    "ErrorCode",
    "FinishReason",
    "InvalidInputError",
    "LLMError",
    "Message",
    "PluginSettings",
    "PostProcessor",
    "Prompt",
    "PromptSource",
    "PromptTemplate",
    "ProviderSettings",
    "ProviderSpec",
    "RateLimitWaitError",
    "RateLimiter",
    "RateLimiterSpec",
    "RateLimits",
    "Usage",
    "hookimpl",
    "parse_retry_after",
    "public_url",
    "scrub",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aexy.plugin_api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
