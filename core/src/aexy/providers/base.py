"""Compatibility: the provider base now lives in :mod:`aexy.contract.provider`; plugins import it
from ``aexy.plugin_api``."""

from aexy.contract.provider import Availability as Availability
from aexy.contract.provider import BaseLLMProvider as BaseLLMProvider
from aexy.contract.provider import ProviderSettings as ProviderSettings
from aexy.contract.provider import ProviderSpec as ProviderSpec
from aexy.contract.provider import RateLimits as RateLimits
