"""``ProviderContract``: the conformance suite of a provider plugin.

A plugin's tests subclass it, say which provider and settings to build and how their API's
answers look on the wire; every ``test_*`` method then runs against the real provider class,
its real HTTP client and an injected mock transport (the ``transport=`` constructor keyword)::

    import httpx
    from aexy.testing import ProviderContract

    class TestAcmeContract(ProviderContract):
        provider_class = AcmeProvider

        def make_settings(self) -> AcmeSettings:
            return AcmeSettings(api_key=self.secret, base_url="https://acme.test/v1")

        def answer(self, text, *, finish, input_tokens, output_tokens, model):
            return httpx.Response(200, json={...})   # the API's success body

        def error(self, status, *, message, headers):
            return httpx.Response(status, json={"error": {"message": message}},
                                  headers=headers)

        def sent_schema(self, request):
            return json.loads(request.content).get("schema")

What it checks: the record and class meet the contract; an answer's text, model, usage and
finish reason; the schema on the wire (when ``enforces_schema``); model overrides; every
error code mapping, ``Retry-After``, connection failures and timeouts; truncation and refusal;
availability; the request's deadline; cancellation; closing; that no secret reaches an error,
a repr or a description; one analysis end to end through the gateway. Test methods are plain
functions that run their own event loop, so they work whatever the plugin's pytest-asyncio
mode. pytest is imported only to skip a check that does not apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from aexy.contract.completion import Completion, CompletionRequest, FinishReason
from aexy.contract.provider import BaseLLMProvider, ProviderSettings
from aexy.errors import RETRYABLE_CODES, ErrorCode, LLMError, code_for_status
from aexy.testing.wire import ScriptedServer, carries_secret, find_secret, skip

__all__ = ["STATUS_CODES", "Finish", "ProviderContract"]

T = TypeVar("T")
Finish = Literal["stop", "length", "refusal"]

#: The error code every provider reports for these HTTP statuses, whatever its API.
#: Every status the suite answers with, and the code the core's one mapping gives it
#: (:func:`aexy.errors.code_for_status`); a provider adds only what its API says beyond it.
STATUS_CODES: Mapping[int, ErrorCode] = {
    status: code_for_status(status)
    for status in (400, 401, 403, 404, 408, 413, 429, 500, 502, 504)
}

SYSTEM = "You are the aexy contract suite. Answer with JSON. [system-marker-5f1c]"
USER = "Rate this snippet: print('hi') [user-marker-9a7e]"
SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "description": "one word"},
        "score": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["answer", "score"],
    "additionalProperties": False,
}
ANSWER = {"answer": "fine", "score": 7}


class ProviderContract:
    """Base class of a provider plugin's conformance tests; see the module docstring.

    Set :attr:`provider_class` and implement :meth:`make_settings`, :meth:`answer`,
    :meth:`error` and :meth:`sent_schema`. Override the rest only where your API differs, and
    say why in a comment.
    """

    #: The provider under test.
    provider_class: ClassVar[type[BaseLLMProvider]]
    #: The HTTP library of the provider's client: ``"httpx"``, or ``"httpx2"`` for the
    #: anthropic SDK. Mock transports, connection errors and timeouts come from it.
    http_library: ClassVar[str] = "httpx"
    #: Planted by :meth:`make_settings` in every credential the provider takes (API key,
    #: password in a URL), then looked for everywhere it must never appear.
    secret: ClassVar[str] = "sk-aexy-contract-9f2c41d7e3b8-SECRET"
    #: Status -> code; extend it with your API's own statuses.
    status_codes: ClassVar[Mapping[int, ErrorCode]] = STATUS_CODES
    #: The status your API answers "overloaded, retry later" with (Anthropic: 529).
    overloaded_status: ClassVar[int] = 503

    # -- what a plugin implements --------------------------------------------------------------
    def make_settings(self) -> ProviderSettings:
        """Settings pointing at a test host, with :attr:`secret` as every credential."""
        raise NotImplementedError("implement make_settings() in your ProviderContract subclass")

    def answer(self, text: str, *, finish: Finish, input_tokens: int, output_tokens: int,
               model: str) -> Any:
        """The API's success response carrying ``text``: ``finish`` says why generation
        stopped (``"refusal"``: the model declined). Return ``None`` for a finish your API
        cannot express (the check is skipped)."""
        raise NotImplementedError("implement answer() in your ProviderContract subclass")

    def error(self, status: int, *, message: str, headers: Mapping[str, str]) -> Any:
        """The API's error response for ``status``, carrying ``message`` and ``headers``."""
        raise NotImplementedError("implement error() in your ProviderContract subclass")

    def sent_schema(self, request: Any) -> Mapping[str, Any] | None:
        """The JSON schema a request carries as the API's structured-output parameter."""
        raise NotImplementedError("implement sent_schema() in your ProviderContract subclass")

    # -- what a plugin may override ------------------------------------------------------------
    def sent_model(self, request: Any) -> str:
        """Where a request names its model, as text: the body, for most APIs. An API that
        carries the model in the URL (``/v1beta/models/{model}:generateContent``) returns
        ``str(request.url)`` (or both)."""
        return str(request.content.decode())

    def make_provider(self, transport: Any, *, model: str | None = None) -> BaseLLMProvider:
        """The provider under test; the convention is ``Provider(settings, model=...,
        transport=...)``."""
        return self.provider_class(self.make_settings(), model=model,  # type: ignore[call-arg]
                                   transport=transport)

    def available(self, request: Any) -> Any:
        """The answer to the availability probe (``GET /models``, ``GET /api/tags``...)."""
        return self.http.Response(200, json={})

    def make_unavailable_provider(self, transport: Any) -> BaseLLMProvider:
        """A provider that is not available; by default one whose server refuses connections
        (``transport`` raises a connection error)."""
        return self.make_provider(transport)

    def context_length_error(self) -> Any:
        """The API's "prompt too long" error response, or ``None`` if it has none."""
        return None

    # -- helpers -------------------------------------------------------------------------------
    @property
    def http(self) -> Any:
        return importlib.import_module(self.http_library)

    def transport(self, server: ScriptedServer) -> Any:
        """A mock transport answering through ``server`` that records being closed."""
        base = self.http.MockTransport

        class Recording(base):  # type: ignore[misc,valid-type]
            closed = False

            async def aclose(self) -> None:
                self.closed = True
                await super().aclose()

        return Recording(server)

    def connect_error(self, request: Any) -> BaseException:
        return self.http.ConnectError("[Errno 111] Connection refused", request=request)  # type: ignore[no-any-return]

    def timeout_error(self, request: Any) -> BaseException:
        return self.http.ReadTimeout("timed out", request=request)  # type: ignore[no-any-return]

    def request(self, **overrides: Any) -> CompletionRequest:
        fields: dict[str, Any] = {"json_schema": SCHEMA, "schema_name": "contract_result",
                                  "max_tokens": 321}
        fields.update(overrides)
        return CompletionRequest.simple(SYSTEM, USER, **fields)

    def ok(self, text: str = json.dumps(ANSWER), *, finish: Finish = "stop",
           model: str = "contract-model-2") -> Any:
        reply = self.answer(text, finish=finish, input_tokens=11, output_tokens=7, model=model)
        if reply is None:
            skip(f"{self.provider_class.__name__}'s API has no way to say {finish!r}")
        return reply

    def run(self, body: Callable[[BaseLLMProvider, ScriptedServer, Any], Awaitable[T]], *,
            model: str | None = None, server: ScriptedServer | None = None) -> T:
        """Build a provider over a scripted server, run ``body`` and close the provider."""
        server = server if server is not None else ScriptedServer()

        async def main() -> T:
            transport = self.transport(server)
            provider = self.make_provider(transport, model=model)
            try:
                return await body(provider, server, transport)
            finally:
                await provider.aclose()

        return asyncio.run(main())

    def calls(self, server: ScriptedServer) -> list[Any]:
        """The requests that carried the prompt (availability probes do not)."""
        return [r for r in server.requests if b"system-marker-5f1c" in (r.content or b"")]

    def fail_with(self, reply: Any) -> LLMError:
        """The error ``complete()`` raises when the server answers ``reply``."""

        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> LLMError:
            server.push(reply)
            try:
                completion = await provider.complete(self.request())
            except LLMError as exc:
                return exc
            raise AssertionError(f"expected an LLMError, got {completion!r}")

        return self.run(body)

    # -- the record and the class --------------------------------------------------------------
    def test_an_installed_plugin_registers_it_soundly(self) -> None:
        from aexy.plugins import PluginHost

        host = PluginHost(environ={})
        registry = host.providers()
        specs = [s for s in registry.items.values() if s.provider_class is self.provider_class]
        problems = [str(e) for e in host.hook_errors if e.record == self.provider_class.name]
        assert not problems, f"the plugin host rejected it: {problems}"
        assert specs, (
            f"no installed plugin registers {self.provider_class.__name__}: check the "
            "[project.entry-points.aexy] table of its pyproject.toml and reinstall "
            f"(plugins seen: {[(p.name, p.status, p.error) for p in host.plugins()]})")
        assert specs[0].name == self.provider_class.name

    def test_the_class_meets_the_contract(self) -> None:
        from aexy.plugin_checks import provider_class_problems

        cls = self.provider_class
        assert provider_class_problems(cls, cls.name) == []

    def test_settings_follow_the_conventions(self) -> None:
        settings_class = self.provider_class.settings_class
        prefix = str(settings_class.model_config.get("env_prefix") or "")
        with _environ({f"{prefix}MODEL": "model-from-env"}):
            assert settings_class().model == "model-from-env", (
                f"{settings_class.__name__} does not read {prefix}MODEL")
        try:
            settings_class(no_such_setting="x")
        except TypeError as exc:
            message = str(exc)
        else:
            raise AssertionError("an unknown setting was silently ignored")
        assert "no_such_setting" in message, message
        try:
            self.provider_class(ProviderSettings())
        except TypeError:
            pass
        else:
            raise AssertionError("settings of another class were accepted")

    # -- answers -------------------------------------------------------------------------------
    def test_an_answer_comes_back_with_its_text_model_and_finish_reason(self) -> None:
        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> Completion:
            server.push(self.ok())
            return await provider.complete(self.request())

        server = ScriptedServer()
        completion = self.run(body, server=server)
        assert json.loads(completion.text) == ANSWER
        assert completion.model == "contract-model-2"
        assert completion.finish_reason is FinishReason.STOP
        sent = self.calls(server)
        assert len(sent) == 1, f"one call, one request: {len(sent)} sent"
        body_text = sent[0].content.decode()
        assert "system-marker-5f1c" in body_text
        assert "user-marker-9a7e" in body_text

    def test_usage_is_reported(self) -> None:
        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> Completion:
            server.push(self.ok())
            return await provider.complete(self.request())

        usage = self.run(body).usage
        assert (usage.input_tokens, usage.output_tokens) == (11, 7), (
            f"usage: the API reported 11 in, 7 out; the provider says {usage}")

    def test_the_schema_goes_on_the_wire_when_the_provider_enforces_it(self) -> None:
        if not self.provider_class.enforces_schema:
            skip(f"{self.provider_class.__name__}.enforces_schema is False")

        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> None:
            server.push(self.ok(), self.ok())
            await provider.complete(self.request())
            await provider.complete(self.request(json_schema=None))

        server = ScriptedServer()
        self.run(body, server=server)
        with_schema, without = self.calls(server)
        sent = self.sent_schema(with_schema)
        assert isinstance(sent, Mapping), "enforces_schema is True but no schema was sent"
        assert {"answer", "score"} <= set(sent.get("properties") or {}), sent
        assert self.sent_schema(without) is None, "a schema was sent though none was asked"

    def test_the_model_can_be_overridden(self) -> None:
        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> str:
            server.push(self.ok(), self.ok())
            await provider.complete(self.request())
            await provider.complete(self.request(model="per-call-model"))
            return provider.model

        server = ScriptedServer()
        assert self.run(body, model="contract-override", server=server) == "contract-override"
        first, second = (self.sent_model(r) for r in self.calls(server))
        assert "contract-override" in first
        assert "per-call-model" in second
        assert "contract-override" not in second

    def test_truncation_is_reported_as_length(self) -> None:
        server = ScriptedServer(self.ok('{"answer": "fi', finish="length"))

        async def body(provider: BaseLLMProvider, _s: ScriptedServer, _: Any) -> Completion:
            return await provider.complete(self.request())

        finish = self.run(body, server=server).finish_reason
        assert finish is FinishReason.LENGTH, f"a truncated answer came back as {finish!r}"

    def test_a_refusal_is_reported_as_content_filter(self) -> None:
        server = ScriptedServer(self.ok("I can't help with that.", finish="refusal"))

        async def body(provider: BaseLLMProvider, _s: ScriptedServer, _: Any) -> Completion:
            return await provider.complete(self.request())

        finish = self.run(body, server=server).finish_reason
        assert finish is FinishReason.CONTENT_FILTER, f"a refusal came back as {finish!r}"

    def test_the_request_deadline_bounds_every_timeout(self) -> None:
        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> None:
            server.push(self.ok())
            await provider.complete(self.request(timeout=2.5))

        server = ScriptedServer()
        self.run(body, server=server)
        timeouts = self.calls(server)[0].extensions.get("timeout")
        if not timeouts:
            skip("the HTTP library sets no per-request timeout extension")
        assert all(v is not None and v <= 2.5 + 1e-6 for v in timeouts.values()), (
            f"the request allowed 2.5s, the HTTP call waits up to {timeouts}")

    # -- errors --------------------------------------------------------------------------------
    def test_every_http_status_maps_to_its_error_code(self) -> None:
        wrong = []
        for status, code in {**self.status_codes,
                             self.overloaded_status: ErrorCode.OVERLOADED}.items():
            exc = self.fail_with(self.error(status, message=f"status {status}", headers={}))
            got = (exc.code, exc.status_code, exc.retryable, exc.provider)
            want = (code, status, code in RETRYABLE_CODES, self.provider_class.name)
            if got != want:
                wrong.append(f"HTTP {status}: got (code, status_code, retryable, provider) = "
                             f"{got}, want {want}")
        assert not wrong, "\n".join(wrong)

    def test_retry_after_is_honoured(self) -> None:
        limited = self.fail_with(self.error(429, message="slow down",
                                            headers={"retry-after": "7"}))
        assert limited.code is ErrorCode.RATE_LIMIT_EXCEEDED
        assert limited.retryable
        assert limited.retry_after == 7.0, f"Retry-After: 7 became {limited.retry_after!r}"
        busy = self.fail_with(self.error(self.overloaded_status, message="busy",
                                         headers={"retry-after": "3"}))
        assert busy.code is ErrorCode.OVERLOADED
        assert busy.retry_after == 3.0, f"Retry-After: 3 became {busy.retry_after!r}"

    def test_connection_failures_and_timeouts_are_retryable_errors(self) -> None:
        refused = self.fail_with(self.connect_error)
        assert refused.code is ErrorCode.CONNECTION_ERROR
        assert refused.retryable
        slow = self.fail_with(self.timeout_error)
        assert slow.code is ErrorCode.TIMEOUT
        assert slow.retryable

    def test_a_prompt_too_long_is_context_length_exceeded(self) -> None:
        reply = self.context_length_error()
        if reply is None:
            skip(f"{self.provider_class.__name__}'s API reports no context-length error")
        exc = self.fail_with(reply)
        assert exc.code is ErrorCode.CONTEXT_LENGTH_EXCEEDED
        assert not exc.retryable

    # -- availability, cancellation, closing ---------------------------------------------------
    def test_availability_is_a_yes_or_no_that_never_raises(self) -> None:
        async def ask(provider: BaseLLMProvider) -> bool:
            try:
                answer = await provider.is_available()
                # check() gives the same answer with a reason, where the core has it.
                check = getattr(provider, "check", None)
                verdict = await check() if check is not None else None
            except Exception as exc:
                raise AssertionError(f"is_available() or check() raised {exc!r}; they answer, "
                                     "never raise") from exc
            if verdict is not None:
                assert verdict.ok is answer, f"check() says {verdict!r}, is_available() {answer}"
                assert answer or verdict.reason, "check() gives no reason for a no"
                assert find_secret(verdict, self.secret) is None, "check() shows the secret"
            return answer

        async def up(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> bool:
            server.default = self.available
            return await ask(provider)

        assert self.run(up) is True, "is_available() is False while the server answers"

        async def down() -> bool:
            server = ScriptedServer(default=self.connect_error)
            provider = self.make_unavailable_provider(self.transport(server))
            try:
                return await ask(provider)
            finally:
                await provider.aclose()

        assert asyncio.run(down()) is False, "is_available() is True while nothing answers"

    def test_a_cancelled_call_stays_cancelled_and_the_provider_stays_usable(self) -> None:
        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> Completion:
            reached = asyncio.Event()
            never = asyncio.Event()

            async def hold(request: Any) -> Any:
                reached.set()
                await never.wait()  # the server never answers: only cancellation ends it
                raise AssertionError("unreachable")

            server.push(hold)
            call = asyncio.ensure_future(provider.complete(self.request()))
            waiter = asyncio.ensure_future(reached.wait())
            await asyncio.wait({call, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            assert not call.done(), f"the call ended before the server answered: {call!r}"
            call.cancel()
            try:
                await call
            except asyncio.CancelledError:
                pass
            except BaseException as exc:
                raise AssertionError(f"a cancelled call raised {exc!r} instead of staying "
                                     "cancelled (CancelledError must propagate)") from exc
            else:
                raise AssertionError("a cancelled call returned instead of staying cancelled")
            server.push(self.ok())
            return await provider.complete(self.request())

        assert json.loads(self.run(body).text) == ANSWER

    def test_closing_releases_the_transport_and_may_be_repeated(self) -> None:
        async def body(provider: BaseLLMProvider, server: ScriptedServer, transport: Any
                       ) -> Any:
            server.push(self.ok())
            await provider.complete(self.request())
            await provider.aclose()
            assert transport.closed, "aclose() did not close the client's transport"
            await provider.aclose()
            return transport

        self.run(body)

        async def unused() -> None:
            provider = self.make_provider(self.transport(ScriptedServer()))
            await provider.aclose()  # never used: nothing to close, nothing raised

        asyncio.run(unused())

    def test_a_call_sleeping_before_its_retry_ends_typed_when_the_gateway_closes(self) -> None:
        import gc
        import warnings

        from aexy.errors import ClosedError
        from aexy.gateway import LLMGateway
        from aexy.plugins import PluginHost
        from aexy.settings import AexySettings

        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> None:
            server.push(self.error(self.overloaded_status, message="busy", headers={}))
            server.push(self.ok())
            sleeping, wake = asyncio.Event(), asyncio.Event()

            async def sleep(_seconds: float) -> None:
                sleeping.set()
                await wake.wait()

            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an unclosed client warns (ResourceWarning)
                gateway = LLMGateway(provider=provider, fallbacks=(), cache=False, sleep=sleep,
                                     plugins=PluginHost(entry_points=False),
                                     settings=AexySettings(max_attempts=2))
                call = asyncio.ensure_future(gateway.analyze("code_complexity", "x = 1\n"))
                await sleeping.wait()
                await gateway.aclose()
                wake.set()
                try:
                    await call
                except ClosedError:
                    pass
                else:
                    raise AssertionError("a retry after aclose() reached the provider")
                gc.collect()
            assert len(server.requests) == 1, (
                "the closed provider sent another request (it reopened its client)")

        self.run(body)

    # -- secrets -------------------------------------------------------------------------------
    def test_no_secret_reaches_an_error_a_repr_or_a_description(self) -> None:
        secret = self.secret
        echo = f"invalid credentials {secret} (echoed by the server)"
        replies: list[Any] = [self.error(s, message=echo, headers={})
                              for s in (400, 401, 429, 500, self.overloaded_status)]
        replies += [self.connect_error, self.timeout_error]
        leaks = []
        for reply in replies:
            exc = self.fail_with(reply)
            where = find_secret(exc, secret)
            if where:
                where = where.replace("obj", "error", 1)
                leaks.append(f"{exc.code.value}: the secret is readable at {where}")

        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> None:
            server.push(self.ok())
            completion = await provider.complete(self.request())
            for name, obj in (("repr(provider)", repr(provider)),
                              ("provider.describe()", provider.describe()),
                              ("repr(settings)", repr(provider.settings)),
                              ("str(settings)", str(provider.settings)),
                              ("completion", completion)):
                if find_secret(obj, secret):
                    leaks.append(f"the secret is in {name}")
            assert any(carries_secret(r, secret) for r in self.calls(server)), (
                "make_settings() must plant ProviderContract.secret in the credentials the "
                "provider sends, or this check proves nothing")

        self.run(body)
        assert not leaks, "\n".join(leaks)

    # -- end to end ------------------------------------------------------------------------------
    def test_an_analysis_runs_through_the_gateway(self) -> None:
        from aexy.gateway import LLMGateway
        from aexy.plugins import PluginHost
        from aexy.schema import example_from_schema
        from aexy.settings import AexySettings

        async def body(provider: BaseLLMProvider, server: ScriptedServer, _: Any) -> Any:
            host = PluginHost(entry_points=False)
            spec = host.analysis_types().get("skill_extraction")
            assert spec is not None
            example = json.dumps(example_from_schema(spec.json_schema))
            server.push(self.ok(example))
            gateway = LLMGateway(provider, fallbacks=(), cache=False, plugins=host,
                                 settings=AexySettings(), close_providers=False)
            try:
                return await gateway.analyze("skill_extraction", "import numpy as np\n")
            finally:
                await gateway.aclose()

        result = self.run(body)
        assert result.provenance.provider == self.provider_class.name
        assert result.provenance.attempts == 1


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
