from __future__ import annotations

import pytest

from aexy.errors import (
    RETRYABLE_CODES,
    AexyError,
    Attempt,
    ConfigurationError,
    ErrorCode,
    InvalidInputError,
    InvalidOutputError,
    LLMError,
    LLMUnavailableError,
    ProviderNotFoundError,
    UnknownAnalysisTypeError,
)


def test_retryable_codes_are_the_transient_ones() -> None:
    assert {c.value for c in RETRYABLE_CODES} == {
        "rate_limit_exceeded", "overloaded", "timeout", "connection_error", "server_error"}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_llm_error_retryable_follows_the_code(code: ErrorCode) -> None:
    err = LLMError("x", code=code.value, provider="p", model="m")
    assert err.code is code
    assert err.retryable is (code in RETRYABLE_CODES)
    assert str(err).startswith(f"[{code.value}] p/m: ")


def test_unknown_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="no_such_code"):
        LLMError("x", code="no_such_code")


def test_hierarchy() -> None:
    assert issubclass(UnknownAnalysisTypeError, InvalidInputError)
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(ProviderNotFoundError, ConfigurationError)
    assert issubclass(InvalidOutputError, LLMError)
    for cls in (InvalidInputError, ConfigurationError, LLMError, LLMUnavailableError):
        assert issubclass(cls, AexyError)


def test_invalid_output_is_not_retryable_and_keeps_the_raw_text() -> None:
    err = InvalidOutputError("bad", provider="p", model="m", raw_text="{oops", errors=["a: b"])
    assert err.code is ErrorCode.INVALID_OUTPUT and not err.retryable
    assert err.raw_text == "{oops" and err.errors == ("a: b",)


def test_unavailable_error_lists_every_attempt() -> None:
    attempts = [Attempt("claude", "sonnet", "overloaded", "529"),
                Attempt("ollama", "llama3.2", "connection_error", "refused")]
    err = LLMUnavailableError("all providers failed", attempts)
    assert err.attempts == tuple(attempts)
    assert err.last_code == "connection_error"
    assert "claude/sonnet: [overloaded] 529" in str(err)
    assert "ollama/llama3.2: [connection_error] refused" in str(err)


def test_provider_not_found_names_the_fix() -> None:
    err = ProviderNotFoundError("ollama", ["claude", "offline"])
    assert err.pip_command == "pip install aexy-ollama"
    assert err.env_var == "LLM_PROVIDER"
    assert "claude, offline" in str(err)
