"""``BatchJob``: many analyses through a provider's batch API (Anthropic Message Batches, the
OpenAI Batch API), at the batch price, resumable::

    async with LLMGateway("claude") as gateway:
        job = BatchJob(gateway, "nightly-skills")
        items = [job.add("skill_extraction", text, {"file_path": path}) for path, text in files]
        await job.run()
        for item in items:
            print(item.result if item.ok else item.error)

:meth:`BatchJob.add` validates an analysis at once (bad input raises before anything is sent)
and :meth:`BatchJob.run` answers every analysis added since the last run:

1. the cache answers what it holds; identical requests are sent once;
2. requests that a batch submitted earlier already holds (this job's, after Ctrl-C or a crash,
   or another process's) are not sent again: their batch is polled (:mod:`aexy.batch_store`);
3. the rest are built exactly as live calls are, reserved on the budget at the batch price, and
   submitted in as few batches as the provider's limits allow, each recorded before anything
   else happens;
4. each batch is polled (``AEXY_BATCH_POLL_SECONDS``, the wait growing by half up to
   ``AEXY_BATCH_POLL_MAX_SECONDS``) until it ends; its results are matched to the requests by
   ``custom_id``, never by order, and each answer goes through the gateway's own steps: the
   finish-reason check, validation, one repair (a live call), post-processing, the cache;
5. a request the batch did not answer (errored, canceled, expired, missing) is a typed
   failure of its analyses, or, with ``retry_live``, sent again as a live call.

A job's later steps (a profile over its samples' findings) are added after ``run()`` returns
and run as the next batch. With a dry-run gateway, nothing is sent: the plan counts each request
at the batch price (and those earlier batches hold, which cost nothing more).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aexy.batch_store import BatchRecord, Endpoint, JobStore
from aexy.contract.batch import BatchEntry, BatchRequest, BatchStatus
from aexy.errors import (
    AexyError,
    BudgetExceededError,
    ErrorCode,
    InvalidInputError,
    LLMError,
    LLMUnavailableError,
)
from aexy.gateway import _completion_request
from aexy.log import logger
from aexy.output import OutputParseError

if TYPE_CHECKING:
    from aexy.budget import Reservation
    from aexy.contract.analysis import AnalysisResult, AnalysisType
    from aexy.contract.completion import CompletionRequest
    from aexy.contract.cost import Cost
    from aexy.gateway import LLMGateway, _Admitted, _Call, _Produced
    from aexy.resilience.clock import Clock, Sleep

__all__ = ["BatchItem", "BatchJob", "BatchProgress"]

#: Errors that belong to one analysis; anything else concerns the whole job and is raised.
_PER_ITEM = (LLMError, LLMUnavailableError, InvalidInputError)
#: Each poll waits this much longer than the one before, up to the cap.
_BACKOFF = 1.5
#: Share of a provider's byte limit a batch is filled to: the sizes are estimated.
_FILL = 0.8
#: Live retries (``retry_live``) in flight at once.
_LIVE_AT_ONCE = 8


class BatchItem:
    """One analysis of a :class:`BatchJob`: after :meth:`BatchJob.run`, its ``result`` (with
    ``provenance``) or its ``error`` (an :class:`~aexy.errors.AexyError`), exactly one."""

    __slots__ = ("_admitted", "_started", "analysis_type", "content", "context", "error",
                 "result", "use_cache")

    def __init__(self, analysis_type: str, content: str, context: Mapping[str, Any] | None,
                 use_cache: bool, admitted: _Admitted, started: float) -> None:
        self.analysis_type = analysis_type
        self.content = content
        self.context = context
        self.use_cache = use_cache
        self.result: AnalysisResult | None = None
        self.error: AexyError | None = None
        self._admitted = admitted
        self._started = started

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def unwrap(self) -> AnalysisResult:
        """The result; its error raised when it has none."""
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise RuntimeError("this analysis has not run: await BatchJob.run() first")
        return self.result

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"error {self.error!r}" if self.error else "pending"
        return f"BatchItem({self.analysis_type!r}, {state})"


@dataclass(slots=True)
class BatchProgress:
    """Where a :meth:`BatchJob.run` is, for a progress line: ``analyses`` added, ``cached``
    answered by the cache, requests ``submitted`` in new batches and ``resumed`` from earlier
    ones, ``processing`` at the provider, ``succeeded`` and ``errored`` (canceled, expired and
    invalid answers included), the ``batches`` waited on, and ``elapsed`` seconds."""

    analyses: int = 0
    cached: int = 0
    submitted: int = 0
    resumed: int = 0
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    batches: int = 0
    elapsed: float = 0.0
    phase: str = "reading the cache"


@dataclass(slots=True, eq=False)
class _Request:
    """One distinct request (by key) of a run, and the analyses waiting for its answer."""

    key: str
    custom_id: str
    call: _Call
    request: CompletionRequest
    items: list[BatchItem]
    reservation: Reservation | None = None
    done: bool = False


@dataclass(slots=True, eq=False)
class _Waiting:
    """A batch this run waits for (another process's claim while ``api_id`` is ``None``)."""

    record: BatchRecord
    status: BatchStatus | None = None
    polled_ok: bool = True
    needed: set[str] = field(default_factory=set)
    #: The API no longer knows it (or will not give its results): nothing more to wait for.
    gone: bool = False


class BatchJob:
    """Analyses through the primary provider's batch API (see the module docs).

    :param gateway: an open gateway; its primary provider must have a batch API
        (:class:`~aexy.errors.BatchUnsupportedError`, naming those that have one, otherwise).
    :param name: the job's name in the store: :meth:`cancel` cancels the batches recorded
        under it.
    :param store: where batches are recorded; ``AEXY_BATCH_STORE`` by default.
    :param retry_live: send a request the batch did not answer (errored, canceled, expired) as
        a live call instead of failing its analyses.
    :param on_progress: called with a :class:`BatchProgress` as the run goes.
    :param poll_seconds: the first wait between polls (``AEXY_BATCH_POLL_SECONDS``).
    :param max_poll_seconds: the longest wait (``AEXY_BATCH_POLL_MAX_SECONDS``).
    :param clock: monotonic seconds; :param sleep: async sleep (tests inject both).
    """

    def __init__(self, gateway: LLMGateway, name: str = "default", *,
                 store: JobStore | None = None, retry_live: bool = False,
                 on_progress: Callable[[BatchProgress], None] | None = None,
                 poll_seconds: float | None = None, max_poll_seconds: float | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.gateway = gateway
        self.name = name
        self._guard = gateway._batch_provider()
        self.provider = self._guard.provider
        settings = gateway.settings
        self.store = store if store is not None else JobStore.from_settings(settings)
        self.retry_live = retry_live
        self._on_progress = on_progress
        self.poll_seconds = poll_seconds or settings.batch_poll_seconds
        self.max_poll_seconds = max(max_poll_seconds or settings.batch_poll_max_seconds,
                                    self.poll_seconds)
        self._clock = clock
        self._sleep = sleep
        self._queue: list[BatchItem] = []
        self._live: list[_Request] = []
        self.progress = BatchProgress()
        self._started = clock()
        describe = self.provider.describe()
        self.endpoint = Endpoint(self.provider.name, self.provider.model,
                                 str(describe.get("base_url") or ""))

    def __repr__(self) -> str:
        return f"BatchJob({self.name!r}, provider={self.provider.name!r}, store={self.store!r})"

    # -- adding ----------------------------------------------------------------------------------
    def add(self, analysis_type: AnalysisType | str, content: str,
            context: Mapping[str, Any] | None = None, *, use_cache: bool = True) -> BatchItem:
        """An analysis for the next :meth:`run`.

        :raises InvalidInputError: bad input; nothing will be sent for it.
        """
        admitted = self.gateway._admit(analysis_type, content, context, use_cache, keyed=True)
        item = BatchItem(admitted.spec.name, content, context, use_cache, admitted,
                         self._clock())
        self._queue.append(item)
        self.progress.analyses += 1
        return item

    # -- running ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Answer every analysis added since the last run (see the module docs). Each ends
        with a result or an error; an interruption leaves the batches recorded, and running
        the job again resumes them."""
        items, self._queue = self._queue, []
        if not items:
            return
        todo = await self._from_cache(items)
        if todo and self.gateway.plan is not None:
            await self._plan(todo)
        elif todo:
            waiting = await self._resume(todo)
            held = {key for w in waiting for key in w.needed}
            waiting += await self._submit([r for r in todo.values() if r.key not in held])
            await self._wait(waiting, todo)
            for request in todo.values():  # nothing is dropped: every item ends one way
                if not request.done:
                    await self._unanswered(request, LLMError(
                        "no batch answered this request", code=ErrorCode.SERVER_ERROR,
                        provider=self.provider.name, model=self.provider.model))
            await self._send_live()
        self._report("done")

    async def _from_cache(self, items: Sequence[BatchItem]) -> dict[str, _Request]:
        """Step 1: what the cache holds is answered; the rest, one request per key."""
        gateway = self.gateway
        todo: dict[str, _Request] = {}
        for item in items:
            admitted = item._admitted
            if admitted.cached:
                hit = await gateway._lookup(admitted)
                if hit is not None:
                    item.result = gateway._finish(hit, admitted.spec, admitted.template.version,
                                                  item._started, joined=False)
                    self.progress.cached += 1
                    continue
            found = todo.get(admitted.key)
            if found is not None:
                found.items.append(item)
                continue
            try:
                call = gateway._render(admitted)
            except _PER_ITEM as exc:
                item.error = exc
                self.progress.errored += 1
                continue
            todo[admitted.key] = _Request(admitted.key, _custom_id(admitted.key), call,
                                          _completion_request(call), [item])
        self._report("reading the cache")
        return todo

    async def _plan(self, todo: Mapping[str, _Request]) -> None:
        """A dry run: each request planned at the batch price (those an earlier batch holds
        cost nothing more) and answered with a stand-in, so that later steps can be planned."""
        held: set[str] = set()
        if self.store.path.exists():  # a dry run never creates the file
            records = await self.store.holding(self.endpoint, todo, read_only=True)
            held = {key for r in records for key in r.requests.values()}
        for request in todo.values():
            try:
                produced = await self.gateway._plan_call(request.call, batch=True,
                                                         paid=request.key in held)
            except (LLMError, OutputParseError) as exc:
                error = exc if isinstance(exc, LLMError) else LLMError(
                    f"the offline stand-in could not answer: {exc}",
                    code=ErrorCode.INVALID_OUTPUT)
                self._fail(request, error)
                continue
            self._answer(request, produced)

    async def _resume(self, todo: Mapping[str, _Request]) -> list[_Waiting]:
        """Step 2: the batches (this job's or another's) that already hold some requests."""
        records = await self.store.holding(self.endpoint, todo)
        waiting = [self._waiting(record, todo) for record in records]
        self.progress.resumed += sum(len(w.needed) for w in waiting)
        self.progress.batches += len(waiting)
        return [w for w in waiting if w.needed]

    def _waiting(self, record: BatchRecord, todo: Mapping[str, _Request]) -> _Waiting:
        needed = {key for key in record.requests.values() if key in todo}
        return _Waiting(record, needed=needed)

    async def _submit(self, requests: list[_Request]) -> list[_Waiting]:
        """Step 3: the rest, reserved on the budget at the batch price, in batches within the
        provider's limits, each recorded as it is made."""
        if not requests:
            return []
        self._report("submitting")
        budget = self.gateway.budget
        if budget is not None:
            allowed = []
            for request in requests:
                try:
                    request.reservation = await self._guard.reserve(request.request, batch=True)
                except BudgetExceededError as exc:
                    self._fail(request, exc)
                    continue
                allowed.append(request)
            requests = allowed
        waiting: list[_Waiting] = []
        by_custom_id = {r.custom_id: r for r in requests}
        for chunk in self._chunks(requests):
            claim = await self.store.claim(self.name, self.endpoint,
                                           {r.custom_id: r.key for r in chunk})
            for record in claim.elsewhere:  # another process submitted them meanwhile
                held = self._waiting(record, {r.key: r for r in chunk})
                for key in held.needed:
                    await self._release(next(r for r in chunk if r.key == key))
                self.progress.resumed += len(held.needed)
                waiting.append(held)
            if claim.record is None:
                continue
            mine = [by_custom_id[cid] for cid in claim.record.requests]
            try:
                status = await self.provider.submit_batch(
                    [BatchRequest(r.custom_id, r.request) for r in mine])
            except LLMError as exc:
                await self.store.abandon(claim.record)
                for request in mine:
                    await self._release(request)
                    await self._unanswered(request, exc)
                continue
            record = await self.store.submitted(claim.record, status.batch_id)
            logger.info("submitted batch %s: %d requests to %s", status.batch_id, len(mine),
                        self.provider.name, extra={"job": self.name})
            waiting.append(_Waiting(record, status, needed={r.key for r in mine}))
            self.progress.submitted += len(mine)
            self.progress.batches += 1
            self._report("submitting")
        return waiting

    def _chunks(self, requests: list[_Request]) -> list[list[_Request]]:
        limits = self.provider.batch_limits
        room = int(limits.max_bytes * _FILL)
        chunks: list[list[_Request]] = []
        size = 0
        for request in requests:
            need = _size(request.request)
            if not chunks or len(chunks[-1]) >= limits.max_requests or size + need > room:
                chunks.append([])
                size = 0
            chunks[-1].append(request)
            size += need
        return chunks

    async def _wait(self, waiting: list[_Waiting], todo: Mapping[str, _Request]) -> None:
        """Step 4: poll every batch until each has ended and its results are read."""
        delay = self.poll_seconds
        while waiting:
            for w in list(waiting):
                if w.record.api_id is None:
                    continue
                done = await self._poll(w, todo) and await self._collect(w, todo)
                if done or w.gone:
                    waiting.remove(w)
            await self._follow_claims(waiting, todo)
            self._report("waiting")
            if waiting:
                await self._sleep(delay)
                delay = min(delay * _BACKOFF, self.max_poll_seconds)

    async def _poll(self, w: _Waiting, todo: Mapping[str, _Request]) -> bool:
        """Whether the batch has ended; a batch the API no longer knows fails its requests."""
        assert w.record.api_id is not None
        try:
            w.status = await self.provider.poll_batch(w.record.api_id)
        except LLMError as exc:
            if exc.retryable:  # the next round asks again
                if w.polled_ok:
                    logger.warning("polling batch %s failed (%s); trying again",
                                   w.record.api_id, exc)
                w.polled_ok = False
                return False
            await self._lose(w, todo, exc)
            return False
        w.polled_ok = True
        return w.status.ended

    async def _collect(self, w: _Waiting, todo: Mapping[str, _Request]) -> bool:
        """The results of an ended batch, each matched by ``custom_id``; whether they were
        all read (a failure to read that may pass is tried again next round)."""
        record, status = w.record, w.status
        assert record.api_id is not None
        assert status is not None
        self._report("reading results")
        try:
            sent = {cid: todo[key].request for cid, key in record.requests.items()
                    if key in todo}
            entries = await self.provider.batch_results(record.api_id, sent)
            async for entry in entries:
                key = record.requests.get(entry.custom_id)
                request = todo.get(key) if key is not None else None
                if request is None:
                    if key is None:
                        logger.warning("batch %s answered an unknown custom_id %r",
                                       record.api_id, entry.custom_id)
                    continue
                if not request.done:
                    await self._settle(request, entry, record.api_id)
        except LLMError as exc:
            if exc.retryable:
                logger.warning("reading the results of batch %s failed (%s); trying again",
                               record.api_id, exc)
                return False
            await self._lose(w, todo, exc)
            return True
        why = f": {status.error}" if status.error else ""
        for key in w.needed:
            request = todo[key]
            if not request.done:
                await self._unanswered(request, LLMError(
                    f"batch {record.api_id} ended ({status.raw_status or status.state}) without "
                    f"a result for this request{why}", code=ErrorCode.SERVER_ERROR,
                    provider=self.provider.name, model=self.provider.model))
        await self.store.collected(record)
        return True

    async def _lose(self, w: _Waiting, todo: Mapping[str, _Request], error: LLMError) -> None:
        """The API no longer knows the batch (or will not give its results): its requests are
        failed (or sent live) and the record is closed, so the next run sends them anew."""
        await self.store.lost(w.record)
        w.gone = True
        for key in w.needed:
            request = todo[key]
            if not request.done:
                await self._unanswered(request, error)

    async def _follow_claims(self, waiting: list[_Waiting], todo: Mapping[str, _Request]
                             ) -> None:
        """Another process's claims: once it records the batch, this run polls it too; a
        claim given up leaves its requests to the next run."""
        claims = [w for w in waiting if w.record.api_id is None]
        if not claims:
            return
        now = await self.store.refresh(w.record.id for w in claims)
        for w in claims:
            record = now.get(w.record.id)
            if record is not None and record.state == "submitting":
                continue
            if record is not None and record.api_id is not None and record.state == "open":
                w.record = record
                continue
            waiting.remove(w)
            for key in w.needed:
                request = todo[key]
                if not request.done:
                    await self._unanswered(request, LLMError(
                        "another aexy process was submitting this request and gave up; run "
                        "the job again to send it", code=ErrorCode.SERVER_ERROR,
                        provider=self.provider.name, model=self.provider.model))

    # -- one request's end -----------------------------------------------------------------------
    async def _settle(self, request: _Request, entry: BatchEntry, batch_id: str) -> None:
        completion = entry.completion
        if entry.outcome != "succeeded" or completion is None:
            await self._release(request)
            error = entry.error if entry.error is not None else _not_run(
                entry.outcome, batch_id, self.provider.name, self.provider.model)
            self.gateway._batch_entry_failed(error)
            await self._unanswered(request, error)
            return
        billed = self._guard.batch_charge(completion)
        await self._pay(request, billed.cost())
        try:
            produced = await self.gateway._from_batch(request.call, completion, billed,
                                                      batch_id)
        except _PER_ITEM as exc:
            self._fail(request, exc)
            return
        self._answer(request, produced)

    def _answer(self, request: _Request, produced: _Produced) -> None:
        """The answer to every analysis waiting for it: the first pays, the others are
        reported like coalesced calls (saved)."""
        gateway = self.gateway
        for index, item in enumerate(request.items):
            own = produced if index == 0 else dataclasses.replace(
                produced, result=produced.result.model_copy(deep=True))
            admitted = item._admitted
            item.result = gateway._finish(own, admitted.spec, request.call.prompt.version,
                                          item._started, joined=index > 0)
        if gateway.plan is not None:
            gateway.plan.repeats += len(request.items) - 1
        request.done = True
        self.progress.succeeded += 1

    def _fail(self, request: _Request, error: AexyError) -> None:
        for item in request.items:
            item.error = error
        request.done = True
        self.progress.errored += 1

    async def _unanswered(self, request: _Request, error: LLMError | LLMUnavailableError
                          ) -> None:
        """Step 5: the batch did not answer: a failure, or with ``retry_live`` a live call
        (sent once the batches are read: :meth:`_send_live`)."""
        if self.retry_live:
            logger.info("sending %s live: its batch did not answer (%s)",
                        request.call.spec.name, error)
            self._live.append(request)
            request.done = True
        else:
            self._fail(request, error)

    async def _send_live(self) -> None:
        requests, self._live = self._live, []
        if not requests:
            return
        self._report("sending live")
        limit = asyncio.Semaphore(_LIVE_AT_ONCE)

        async def live(request: _Request) -> None:
            async with limit:
                for item in request.items:  # the first's answer is cached for the others
                    try:
                        item.result = await self.gateway.analyze(
                            item.analysis_type, item.content, item.context, item.use_cache)
                    except _PER_ITEM as exc:
                        item.error = exc
            if all(item.ok for item in request.items):
                self.progress.succeeded += 1
            else:
                self.progress.errored += 1

        await asyncio.gather(*(live(r) for r in requests))

    async def _pay(self, request: _Request, cost: Cost) -> None:
        budget = self.gateway.budget
        if request.reservation is not None and budget is not None:
            await budget.settle(request.reservation, cost)
        elif budget is not None:  # submitted by an earlier run: committed then
            await budget.record(f"{self.provider.name}/{self.provider.model}", cost)

    async def _release(self, request: _Request) -> None:
        budget = self.gateway.budget
        if request.reservation is not None and budget is not None:
            await budget.release(request.reservation)

    # -- progress --------------------------------------------------------------------------------
    def _report(self, phase: str) -> None:
        p = self.progress
        p.phase = phase
        p.elapsed = self._clock() - self._started
        p.processing = max(p.submitted + p.resumed - p.succeeded - p.errored, 0)
        if self._on_progress is not None:
            self._on_progress(dataclasses.replace(p))

    # -- cancelling ------------------------------------------------------------------------------
    async def cancel(self) -> list[BatchStatus]:
        """Cancel the batches recorded under this job's name whose results were not read
        yet. What they already finished is billed, and the next run reads it."""
        statuses = []
        for record in await self.store.job_batches(self.name, self.endpoint):
            if record.api_id is None:
                continue  # a claim: its process records the batch, or gives up
            try:
                status = await self.provider.cancel_batch(record.api_id)
            except LLMError as exc:
                if exc.code is ErrorCode.NOT_FOUND:
                    await self.store.lost(record)
                    continue
                status = await self.provider.poll_batch(record.api_id)
                if not status.ended:
                    raise
            await self.store.cancel_requested(record)
            statuses.append(status)
        return statuses


def _custom_id(key: str) -> str:
    """A request's name in its batch, from its key: ``[a-zA-Z0-9_-]{1,64}`` as Anthropic
    requires, and the same for the same request in every run."""
    return "aexy-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _size(request: CompletionRequest) -> int:
    """Roughly the bytes ``request`` takes in a batch's body: its text, its schema (which some
    providers also put in the prompt) and the envelope."""
    text = len(request.system.encode()) + sum(len(m.content.encode()) for m in request.messages)
    schema = len(json.dumps(request.json_schema)) if request.json_schema is not None else 0
    return text + 2 * schema + 1024


def _not_run(outcome: str, batch_id: str, provider: str, model: str) -> LLMError:
    if outcome == "expired":
        return LLMError(f"batch {batch_id} expired before this request was run (not billed)",
                        code=ErrorCode.EXPIRED, provider=provider, model=model)
    if outcome == "canceled":
        return LLMError(f"batch {batch_id} was canceled before this request was run (not "
                        "billed)", code=ErrorCode.CANCELED, provider=provider, model=model)
    return LLMError(f"batch {batch_id} could not run this request", code=ErrorCode.SERVER_ERROR,
                    provider=provider, model=model)
