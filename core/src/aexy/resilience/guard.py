"""Resilience around one provider: :class:`GuardedProvider`.

One logical call (:meth:`GuardedProvider.complete`) is a loop of physical attempts. Each attempt
takes a circuit-breaker permit and its turn at the rate limiter (:class:`_Admission`, which also
settles both when the attempt ends, whatever way it ends), runs under one timeout (the provider's
own timeout capped by what is left of the caller's deadline), and is recorded once. Retryable
failures sleep a jittered backoff and go again; a truncated or refused answer is an error, never
a result. ``docs/resilience.md`` describes the behaviour.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aexy.contract.completion import Completion, CompletionRequest, FinishReason
from aexy.contract.ratelimit import RateLimiter, RateLimitWaitError
from aexy.contract.tokens import upper_bound
from aexy.cost import Charge, price_ref_for, worst_case
from aexy.errors import Attempt, ErrorCode, LLMError
from aexy.ratelimit import estimate_tokens
from aexy.resilience.breaker import CircuitBreaker, Permit
from aexy.resilience.clock import Clock, Cutoff, Deadline, Random, Sleep
from aexy.resilience.retry import RetryPolicy
from aexy.telemetry import Recorder, logger

if TYPE_CHECKING:
    from aexy.budget import Budget, Reservation
    from aexy.contract.cost import PriceRef
    from aexy.contract.provider import BaseLLMProvider

__all__ = ["CallState", "GuardedProvider", "ProviderSkipped"]

#: Upper bound of one ``is_available()`` probe, seconds.
PROBE_TIMEOUT = 5.0


@dataclass(eq=False)
class CallState:
    """What one request has done so far, across retries and providers."""

    deadline: Deadline
    calls: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    rate_wait: float = 0.0
    #: A provider that reports estimated, not counted, token usage took part.
    tokens_estimated: bool = False
    failures: list[Attempt] = field(default_factory=list)
    #: Every call that answered (and so was billed), priced when someone reads its cost.
    charges: list[Charge] = field(default_factory=list)

    def fail(self, provider: BaseLLMProvider, code: str, message: str) -> None:
        self.failures.append(Attempt(provider.name, provider.model, code, message))


class ProviderSkipped(Exception):
    """The provider was passed over (its circuit is open); the reason is in the request state.
    ``__cause__`` holds the error that opened the circuit, if this request caused it."""


class GuardedProvider:
    """One provider of the chain with its breaker, limiter and availability cache."""

    def __init__(self, provider: BaseLLMProvider, *, breaker: CircuitBreaker,
                 limiter: RateLimiter | None, policy: RetryPolicy, recorder: Recorder,
                 clock: Clock, sleep: Sleep, random: Random, availability_ttl: float,
                 budget: Budget | None = None) -> None:
        self.provider = provider
        # Breakers, limiters and availability are kept per provider *and* model.
        self.model = provider.model  # fixed once the gateway is built (the label says so)
        self.label = f"{provider.name}/{self.model}"
        self.breaker = breaker
        self.limiter = limiter
        self.policy = policy
        self._recorder = recorder
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._availability_ttl = availability_ttl
        self.available = True
        self.available_until = -math.inf
        self._probe: asyncio.Task[bool] | None = None
        self.budget = budget
        self.price_ref = _price_ref(provider)

    # -- one logical call ------------------------------------------------------------------------
    async def complete(self, request: CompletionRequest, state: CallState) -> Completion:
        """Attempts until an answer, a final error or the deadline. Raises :class:`LLMError`
        (its code says why) or :class:`ProviderSkipped`."""
        provider = self.provider
        attempt = 0
        while True:
            remaining = state.deadline.remaining()
            if remaining <= 0:
                error = LLMError(f"the deadline of {state.deadline.seconds}s ran out",
                                 code=ErrorCode.TIMEOUT, provider=provider.name,
                                 model=provider.model)
                state.fail(provider, error.code.value, error.message)
                raise error
            permit = self.breaker.acquire()
            if permit is None:
                self.skip(state, "circuit_open",
                          f"circuit open; next trial in {self.breaker.retry_in():.1f}s")
                raise ProviderSkipped
            attempt += 1
            try:
                completion = await self._attempt(request, permit, state, remaining)
            except RateLimitWaitError as exc:
                exc.provider, exc.model = provider.name, provider.model
                self.skip(state, "rate_limited", exc.message, code=exc.code.value)
                raise
            except LLMError as exc:
                state.fail(provider, exc.code.value, exc.message)
                delay = self.policy.delay(exc, attempt, state.deadline.remaining(), self._random)
                if delay is None:
                    raise
                if not self.breaker.allows():
                    # This failure opened the circuit: move on now rather than sleep.
                    self.skip(state, "circuit_open", "circuit opened")
                    raise ProviderSkipped from exc
                state.retries += 1
                self._recorder.retry(provider.name, exc.code.value)
                await self._sleep(delay)
                continue
            if completion.finish_reason is not FinishReason.STOP:
                self.check_finish(completion, state)
            return completion

    async def _attempt(self, request: CompletionRequest, permit: Permit, state: CallState,
                       remaining: float) -> Completion:
        """One physical call, admitted by the breaker, the budget and the limiter, under one
        timeout."""
        if self.budget is None:
            return await self._send(request, permit, state, remaining)
        held = await self._reserve(request, permit)
        sent = _Sent()
        try:
            answer = await self._send(request, permit, state, remaining, sent)
        except BaseException as exc:
            if sent and (not isinstance(exc, LLMError) or exc.code in _UNKNOWN_OUTCOME):
                await self.budget.settle(held, None)  # it may have been billed: count it all
            else:
                await self.budget.release(held)  # never sent, or an error the API does not bill
            raise
        await self.budget.settle(held, state.charges[-1].cost())
        return answer

    async def _reserve(self, request: CompletionRequest, permit: Permit) -> Reservation:
        """The call's worst case held on the budget; ``BudgetExceededError`` before anything
        is sent when it does not fit."""
        try:
            return await self.reserve(request)
        except BaseException:
            self.breaker.release(permit)  # nothing was sent: no verdict
            raise

    async def reserve(self, request: CompletionRequest, *, batch: bool = False) -> Reservation:
        """Hold the worst case of ``request`` (at the batch API's rates with ``batch``) on the
        budget; ``BudgetExceededError`` when it does not fit."""
        assert self.budget is not None
        provider = self.provider
        model = request.model or self.model
        worst = worst_case(provider.name, model, upper_bound(request),
                           provider.max_output_tokens(request), ref=self.price_ref, batch=batch)
        return await self.budget.reserve(f"{provider.name}/{model}", worst)

    def batch_charge(self, answer: Completion) -> Charge:
        """What an answer from the provider's batch API is billed: its usage at batch rates."""
        return Charge(self.provider.name, answer.model or self.model, answer.usage,
                      self.price_ref, time.time(), batch=True)

    def record_batch_answer(self, answer: Completion, billed: Charge, state: CallState) -> None:
        """An answer from the provider's batch API, counted in ``state`` as a call billed at
        the batch rate (no attempt of this process made it: no breaker, limiter or span)."""
        provider = self.provider
        usage = answer.usage
        state.calls += 1
        state.charges.append(billed)
        state.input_tokens += usage.input_tokens
        state.output_tokens += usage.output_tokens
        if provider.estimates_usage:
            state.tokens_estimated = True
        self._recorder.batch_answer(provider.name, answer, billed)

    async def _send(self, request: CompletionRequest, permit: Permit, state: CallState,
                    remaining: float, sent: _Sent | None = None) -> Completion:
        provider = self.provider
        admission = _Admission(self, permit, request)
        if self.limiter is not None:
            remaining = await admission.take_turn(state)
        # The provider's own timeout caps every attempt; the deadline caps them all. The
        # request carries a timeout only when the deadline is the shorter of the two.
        own = provider.settings.timeout
        limit, to_send = (own, request) if own <= remaining else (
            remaining, request.with_timeout(remaining))
        recorder = self._recorder
        with admission:
            state.calls += 1
            if sent is not None:
                sent.yes = True
            started = self._clock()
            with recorder.span(provider.name, self.model,
                               request.metadata.get("analysis_type", "")) as span:
                answer: Completion | None = None
                try:
                    # The event loop enforces the limit too, for providers that ignore it.
                    with Cutoff(limit):
                        answer = await provider.complete(to_send)
                except TimeoutError:
                    pass  # raised below, outside this block: no exception chain to carry
                except LLMError as exc:
                    recorder.call_failed(provider.name, provider.model,
                                         self._clock() - started, exc.code.value)
                    raise
                finished = self._clock()
                if answer is None:
                    error = LLMError(f"no answer within {limit:.2f}s (the provider's timeout "
                                     "or the rest of the deadline)", code=ErrorCode.TIMEOUT,
                                     provider=provider.name, model=provider.model)
                    recorder.call_failed(provider.name, provider.model, finished - started,
                                         error.code.value)
                    raise error
                usage = answer.usage
                billed = Charge(provider.name, answer.model or self.model, usage,
                                self.price_ref, time.time())
                state.charges.append(billed)
                recorder.call_ok(provider.name, finished - started, answer, span, billed)
            admission.used(usage.input_tokens + usage.output_tokens)
        if self._availability_ttl > 0:  # a call that answered is a fresh "available"
            self.available, self.available_until = True, finished + self._availability_ttl
        state.input_tokens += usage.input_tokens
        state.output_tokens += usage.output_tokens
        if provider.estimates_usage:
            state.tokens_estimated = True
        return answer

    def check_finish(self, completion: Completion, state: CallState) -> None:
        """A truncated or refused answer is an error (never retried: it would say the same)."""
        provider = self.provider
        reason = completion.finish_reason
        if reason is FinishReason.LENGTH:
            error = LLMError(
                f"the answer was cut off at {completion.usage.output_tokens} output tokens "
                f"(finish reason {completion.raw_finish_reason or 'length'}); shorten the input "
                "or raise the output limit",
                code=ErrorCode.OUTPUT_TRUNCATED, provider=provider.name, model=completion.model,
                retryable=False, request_id=completion.request_id,
            )
        elif reason is FinishReason.CONTENT_FILTER:
            error = LLMError(
                "the model refused or its answer was filtered "
                f"(finish reason {completion.raw_finish_reason or 'content_filter'})",
                code=ErrorCode.CONTENT_FILTERED, provider=provider.name, model=completion.model,
                retryable=False, request_id=completion.request_id,
            )
        else:
            return
        self._recorder.answer_refused(provider.name, error.code.value)
        state.fail(provider, error.code.value, error.message)
        raise error

    def skip(self, state: CallState, reason: str, message: str, code: str | None = None) -> None:
        state.fail(self.provider, code or reason, message)
        self._recorder.skipped(self.label, reason)

    # -- availability --------------------------------------------------------------------------
    async def is_available(self, deadline: Deadline) -> bool:
        """``is_available()``, asked at most once per ``AEXY_AVAILABILITY_TTL``; concurrent
        callers share one probe, and a successful call counts as a fresh "yes"."""
        ttl = self._availability_ttl
        if ttl <= 0:
            return True
        if self._clock() < self.available_until:
            return self.available
        if self._probe is None or self._probe.done():
            limit = min(PROBE_TIMEOUT, deadline.remaining())
            self._probe = asyncio.ensure_future(self._run_probe(limit, ttl))
        return await asyncio.shield(self._probe)

    async def _run_probe(self, limit: float, ttl: float) -> bool:
        try:
            async with asyncio.timeout(limit):
                ok = bool(await self.provider.is_available())
        except Exception as exc:  # a failing probe means "not available", never a crash
            logger.warning("availability probe failed",
                           extra={"provider": self.label, "error": type(exc).__name__})
            ok = False
        self.available = ok
        self.available_until = self._clock() + ttl
        return ok

    def cancel_probe(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()

    def availability(self) -> dict[str, object]:
        now = self._clock()
        return {
            "available": self.available if now < self.available_until else None,
            "expires_in_s": round(max(0.0, self.available_until - now), 3)
            if math.isfinite(self.available_until) else None,
        }


class _Sent:
    """Whether a request went out (the budget counts an unknown outcome only then)."""

    __slots__ = ("yes",)

    def __init__(self) -> None:
        self.yes = False

    def __bool__(self) -> bool:
        return self.yes


#: Errors after which the provider may have billed the call: the budget keeps it all.
_UNKNOWN_OUTCOME = frozenset({ErrorCode.TIMEOUT, ErrorCode.CONNECTION_ERROR})


def _price_ref(provider: BaseLLMProvider) -> PriceRef | None:
    """How the price list knows ``provider``: its own answer, else the core's for its own
    providers (an earlier release of one may not answer)."""
    try:
        ref = provider.price_ref()
    except Exception:  # a plugin's bug prices nothing, it breaks nothing
        logger.warning("price_ref() failed", extra={"provider": provider.name})
        ref = None
    return ref if ref is not None else price_ref_for(provider.name)


class _Admission:
    """Leave to make one physical call: a breaker permit and the limiter's estimated tokens.

    :meth:`take_turn` waits at the limiter (and gives the permit back when the turn never
    comes); as a context manager around the call, it settles both once the call ends, whichever
    way it ends:

    - an answer: a healthy verdict for the breaker; the limiter is charged the real usage;
    - an :class:`LLMError`: a failed verdict when retryable; the limiter keeps the input
      estimate (the prompt was sent);
    - anything else (cancelled, a provider bug): no verdict; the limiter keeps the input estimate.
    """

    __slots__ = ("_actual", "_guard", "_permit", "_request")

    def __init__(self, guard: GuardedProvider, permit: Permit,
                 request: CompletionRequest) -> None:
        self._guard = guard
        self._permit = permit
        self._request = request
        self._actual = 0

    def _estimate(self) -> int:
        return estimate_tokens(self._request.prompt_chars, self._request.max_tokens)

    def used(self, tokens: int) -> None:
        """The real usage of the answer (0 when the provider reports none)."""
        self._actual = tokens

    def check_deadline(self, state: CallState) -> float:
        """The seconds left for the call; a timeout error (and the permit back) when none."""
        remaining = state.deadline.remaining()
        if remaining <= 0:
            self._guard.breaker.release(self._permit)  # nothing was sent: no verdict
            raise LLMError("the deadline ran out while waiting for the rate limiter",
                           code=ErrorCode.TIMEOUT, provider=self._guard.provider.name,
                           model=self._guard.provider.model)
        return remaining

    async def take_turn(self, state: CallState) -> float:
        """Wait at the limiter; returns the seconds then left for the call."""
        guard = self._guard
        assert guard.limiter is not None
        try:
            waited = await guard.limiter.acquire(self._estimate(),
                                                 max_wait=state.deadline.remaining())
        except BaseException:
            guard.breaker.release(self._permit)  # nothing was sent: no verdict
            raise
        if waited > 0:
            state.rate_wait += waited
            guard._recorder.limiter_wait(guard.provider.name, waited)
        return self.check_deadline(state)

    def __enter__(self) -> _Admission:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        guard = self._guard
        limiter = guard.limiter
        if exc is None:
            guard.breaker.record(self._permit, failed=False)
            if limiter is not None and self._actual > 0:
                limiter.reconcile(self._estimate(), self._actual)
            return
        if isinstance(exc, LLMError):
            guard.breaker.record(self._permit, failed=exc.retryable)
        else:
            guard.breaker.release(self._permit)
        if limiter is not None:  # the prompt was sent: charge its estimate
            limiter.reconcile(self._estimate(), self._request.prompt_chars // 4)
