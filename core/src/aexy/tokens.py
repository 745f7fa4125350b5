"""Token counts before a call (the public name of :mod:`aexy.contract.tokens`, where the
estimator lives so that the provider contract's default ``count_tokens`` can use it)."""

from aexy.contract.tokens import ESTIMATE_METHOD as ESTIMATE_METHOD
from aexy.contract.tokens import TokenCount as TokenCount
from aexy.contract.tokens import estimate as estimate
from aexy.contract.tokens import estimate_request as estimate_request
from aexy.contract.tokens import upper_bound as upper_bound

__all__ = ["ESTIMATE_METHOD", "TokenCount", "estimate", "estimate_request", "upper_bound"]
