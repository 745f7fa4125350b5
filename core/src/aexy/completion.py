"""Compatibility: the completion records now live in :mod:`aexy.contract.completion` (public
through ``aexy`` and ``aexy.plugin_api``); this module keeps them importable where 0.1.0 had
them."""

from aexy.contract.completion import Completion as Completion
from aexy.contract.completion import CompletionRequest as CompletionRequest
from aexy.contract.completion import FinishReason as FinishReason
from aexy.contract.completion import Message as Message
from aexy.contract.completion import Usage as Usage
