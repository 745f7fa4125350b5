"""Fake providers the price list knows (as Anthropic's model ``claude-sonnet-4-5``), for cost
and budget tests: one that answers with a usage below the request's limits, as a real API would,
and one that fails the test if anything is sent to it (dry runs)."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from aexy.completion import Completion, CompletionRequest, Usage
from aexy.contract.cost import PriceRef
from aexy.testing import FakeProvider
from aexy.tokens import upper_bound

MODEL = "claude-sonnet-4-5"


class PricedFake(FakeProvider):
    """Priced as ``claude-sonnet-4-5``; counts what it is sent in :attr:`sent` (every instance,
    so that a test sees the calls of providers a command builds by name)."""

    name: ClassVar[str] = "pricedfake"
    rng = random.Random(5)
    sent: ClassVar[list[CompletionRequest]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("model") is None:
            kwargs["model"] = MODEL
        super().__init__(*args, **kwargs)

    def price_ref(self) -> PriceRef:
        return PriceRef(provider_id="anthropic")

    async def complete(self, request: CompletionRequest) -> Completion:
        PricedFake.sent.append(request)
        answer = await super().complete(request)
        if answer.usage.cache_read_tokens:  # a scripted usage
            return answer
        bound = upper_bound(request)
        usage = Usage(self.rng.randint(bound // 6, bound // 3),
                      self.rng.randint(100, request.max_tokens // 4))
        return Completion(answer.text, answer.model, usage, answer.finish_reason, "stop")


class Untouchable(PricedFake):
    """The same provider (the same cache keys), failing the test if anything is sent."""

    async def complete(self, request: CompletionRequest) -> Completion:
        raise AssertionError("a dry run sent a request")
