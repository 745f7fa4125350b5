"""Deprecated: aexy-core 0.1.0 defined the provider base here. Import it from
``aexy.plugin_api`` (or ``aexy``); this module goes with plugin API 2.0."""

import warnings

from aexy.contract.provider import BaseLLMProvider as BaseLLMProvider
from aexy.contract.provider import ProviderSettings as ProviderSettings
from aexy.contract.provider import ProviderSpec as ProviderSpec
from aexy.contract.provider import RateLimits as RateLimits

warnings.warn("aexy.provider is deprecated: import BaseLLMProvider, ProviderSettings, "
              "ProviderSpec and RateLimits from aexy.plugin_api (removed in plugin API 2.0)",
              DeprecationWarning, stacklevel=2)
