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

from typing import TYPE_CHECKING

from aexy import PLUGIN_API_VERSION as PLUGIN_API_VERSION
from aexy import __version__
from aexy._lazy import lazy_names

if TYPE_CHECKING:
    from aexy.analysis import AnalysisRequest as AnalysisRequest
    from aexy.analysis import AnalysisResult as AnalysisResult
    from aexy.analysis import AnalysisSpec as AnalysisSpec
    from aexy.cache import CacheBackend as CacheBackend
    from aexy.cache import CacheBackendSpec as CacheBackendSpec
    from aexy.completion import Completion as Completion
    from aexy.completion import CompletionRequest as CompletionRequest
    from aexy.completion import FinishReason as FinishReason
    from aexy.completion import Message as Message
    from aexy.completion import Usage as Usage
    from aexy.errors import RETRYABLE_CODES as RETRYABLE_CODES
    from aexy.errors import AexyError as AexyError
    from aexy.errors import ClosedError as ClosedError
    from aexy.errors import ConfigurationError as ConfigurationError
    from aexy.errors import ErrorCode as ErrorCode
    from aexy.errors import InvalidInputError as InvalidInputError
    from aexy.errors import LLMError as LLMError
    from aexy.errors import code_for_status as code_for_status
    from aexy.hookspecs import hookimpl as hookimpl
    from aexy.postprocess import PostProcessor as PostProcessor
    from aexy.prompts import Prompt as Prompt
    from aexy.prompts import PromptSource as PromptSource
    from aexy.prompts import PromptTemplate as PromptTemplate
    from aexy.prompts import delimit as delimit
    from aexy.providers.base import Availability as Availability
    from aexy.providers.base import BaseLLMProvider as BaseLLMProvider
    from aexy.providers.base import ProviderSettings as ProviderSettings
    from aexy.providers.base import ProviderSpec as ProviderSpec
    from aexy.providers.base import RateLimits as RateLimits
    from aexy.ratelimit import RateLimiter as RateLimiter
    from aexy.ratelimit import RateLimiterSpec as RateLimiterSpec
    from aexy.ratelimit import RateLimitWaitError as RateLimitWaitError
    from aexy.redact import masked_repr_args as masked_repr_args
    from aexy.redact import public_url as public_url
    from aexy.redact import scrub as scrub
    from aexy.redact import split_credentials as split_credentials
    from aexy.resilience.retry import parse_retry_after as parse_retry_after
    from aexy.settings import PluginSettings as PluginSettings

#: The running aexy-core release.
CORE_VERSION = __version__

__getattr__, __dir__ = lazy_names(__name__, __file__, globals(),
                                  ("CORE_VERSION", "PLUGIN_API_VERSION"))
