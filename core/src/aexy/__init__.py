"""aexy: a provider-agnostic LLM gateway for typed code and developer analysis.

Names are imported on first use so that ``import aexy`` stays fast and pulls in no provider SDK.
The public names are listed once, in the ``TYPE_CHECKING`` block below: type checkers read it as
explicit re-exports, and ``__getattr__`` reads the same block (:mod:`aexy._lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aexy import _seed
from aexy._lazy import lazy_names
from aexy._version import PLUGIN_API_VERSION as PLUGIN_API_VERSION
from aexy._version import __version__ as __version__

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

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

__getattr__, __dir__ = lazy_names(__name__, __file__, globals(),
                                  ("PLUGIN_API_VERSION", "__version__"))


async def _run_seed(provider: BaseLLMProvider, analysis_type: AnalysisType | str, content: str,
                    context: Mapping[str, Any] | None) -> AnalysisResult:
    # The seed API's provider.analyze(), wired here at the top of the package: the gateway is
    # imported on the first such call, never by the contract that defines the provider base.
    from aexy.gateway import analyze_once

    return await analyze_once(provider, analysis_type, content, context)


_seed.runner = _run_seed
