"""The plugin contract's public face: every record, base class, error and helper a plugin needs,
each listed once.

::

    from aexy.plugin_api import BaseLLMProvider, ProviderSettings, ProviderSpec, hookimpl

Everything a plugin may rely on is named here; anything else in ``aexy`` may change between
releases. The names are defined in :mod:`aexy.contract` (records and bases) and in the core's
leaf modules (errors, settings, schema and redaction helpers). ``PLUGIN_API_VERSION`` versions
this module: its major part changes when a name here changes incompatibly (announced a minor
release ahead with a ``DeprecationWarning``), its minor part when a name or an optional member
is added. ``docs/plugins.md`` documents every name and the compatibility policy;
``docs/writing-plugins.md`` walks from an empty folder to a published plugin. Names are imported
on first use, so that loading a plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aexy._lazy import lazy_names
from aexy._version import PLUGIN_API_VERSION as PLUGIN_API_VERSION
from aexy._version import __version__

if TYPE_CHECKING:
    # Grouped by what a plugin builds, in the order docs/plugins.md gives, not sorted.
    # isort: off
    # Registration
    from aexy.contract.hooks import hookimpl as hookimpl
    from aexy.settings import PluginSettings as PluginSettings

    # Providers
    from aexy.contract.provider import Availability as Availability
    from aexy.contract.provider import BaseLLMProvider as BaseLLMProvider
    from aexy.contract.provider import ProviderSettings as ProviderSettings
    from aexy.contract.provider import ProviderSpec as ProviderSpec
    from aexy.contract.provider import RateLimits as RateLimits
    from aexy.contract.http import HTTPProvider as HTTPProvider
    from aexy.contract.http import error_text as error_text
    from aexy.contract.http import http_error as http_error
    from aexy.contract.http import parse_duration as parse_duration
    from aexy.contract.http import parse_retry_after as parse_retry_after
    from aexy.contract.transport import PoolTransport as PoolTransport
    from aexy.contract.transport import pooled_client as pooled_client
    from aexy.contract.structured import ServerMemo as ServerMemo
    from aexy.contract.completion import Completion as Completion
    from aexy.contract.completion import CompletionRequest as CompletionRequest
    from aexy.contract.completion import FinishReason as FinishReason
    from aexy.contract.completion import Message as Message
    from aexy.contract.completion import Usage as Usage
    from aexy.contract.cost import PriceRef as PriceRef
    from aexy.contract.tokens import TokenCount as TokenCount
    from aexy.contract.tokens import estimate_request as estimate_request
    from aexy.contract.batch import BatchRequest as BatchRequest
    from aexy.contract.batch import BatchStatus as BatchStatus
    from aexy.contract.batch import BatchCounts as BatchCounts
    from aexy.contract.batch import BatchEntry as BatchEntry
    from aexy.contract.batch import BatchLimits as BatchLimits
    from aexy.contract.batch import BatchState as BatchState
    from aexy.contract.batch import EntryOutcome as EntryOutcome

    # Cache backends
    from aexy.contract.cache import CacheBackend as CacheBackend
    from aexy.contract.cache import CacheBackendSpec as CacheBackendSpec

    # Budget ledgers
    from aexy.contract.budget import BudgetLedger as BudgetLedger
    from aexy.contract.budget import BudgetLedgerSpec as BudgetLedgerSpec
    from aexy.contract.budget import LedgerTotals as LedgerTotals

    # Rate limiters
    from aexy.contract.ratelimit import RateLimiter as RateLimiter
    from aexy.contract.ratelimit import RateLimiterSpec as RateLimiterSpec
    from aexy.contract.ratelimit import RateLimitWaitError as RateLimitWaitError
    from aexy.ratelimit import LocalRateLimiter as LocalRateLimiter
    from aexy.ratelimit import TokenBucket as TokenBucket

    # Analysis types, prompt sources and post-processors
    from aexy.contract.analysis import AnalysisRequest as AnalysisRequest
    from aexy.contract.analysis import AnalysisResult as AnalysisResult
    from aexy.contract.analysis import AnalysisSpec as AnalysisSpec
    from aexy.contract.postprocess import SKILL_NAMES as SKILL_NAMES
    from aexy.contract.postprocess import PostProcessor as PostProcessor
    from aexy.contract.prompts import Prompt as Prompt
    from aexy.contract.prompts import PromptSource as PromptSource
    from aexy.contract.prompts import PromptTemplate as PromptTemplate
    from aexy.contract.prompts import context_block as context_block
    from aexy.contract.prompts import context_value as context_value
    from aexy.contract.prompts import delimit as delimit
    from aexy.contract.prompts import user_prompt as user_prompt

    # Errors
    from aexy.errors import RETRYABLE_CODES as RETRYABLE_CODES
    from aexy.errors import AexyError as AexyError
    from aexy.errors import ClosedError as ClosedError
    from aexy.errors import ConfigurationError as ConfigurationError
    from aexy.errors import ErrorCode as ErrorCode
    from aexy.errors import InvalidInputError as InvalidInputError
    from aexy.errors import LLMError as LLMError
    from aexy.errors import code_for_status as code_for_status

    # Helpers our own plugins use
    from aexy.log import logger as logger
    from aexy.resilience.incident import IncidentLog as IncidentLog
    from aexy.redact import masked_repr_args as masked_repr_args
    from aexy.redact import public_url as public_url
    from aexy.redact import scrub as scrub
    from aexy.redact import split_credentials as split_credentials
    from aexy.redact import url_secrets as url_secrets
    from aexy.resilience.clock import Clock as Clock
    from aexy.resilience.clock import Random as Random
    from aexy.resilience.clock import Sleep as Sleep
    from aexy.schema import PerSchema as PerSchema
    from aexy.schema import cap_array_items as cap_array_items
    from aexy.schema import drop_strict_nulls as drop_strict_nulls
    from aexy.schema import strict_schema as strict_schema
    # isort: on

#: The running aexy-core release.
CORE_VERSION = __version__

__getattr__, __dir__ = lazy_names(__name__, __file__, globals(),
                                  ("CORE_VERSION", "PLUGIN_API_VERSION"))
