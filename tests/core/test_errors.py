from __future__ import annotations

import pytest

from aexy.errors import (
    PROVIDER_PACKAGES,
    RETRYABLE_CODES,
    AexyError,
    Attempt,
    ClosedError,
    ConfigurationError,
    ErrorCode,
    InvalidInputError,
    InvalidOutputError,
    LLMError,
    LLMUnavailableError,
    ProviderNotFoundError,
    UnknownAnalysisTypeError,
    code_for_status,
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


def test_a_misspelt_installed_provider_gets_did_you_mean_and_no_package() -> None:
    err = ProviderNotFoundError("olama", ["claude", "offline", "ollama"])
    assert err.suggestion == "ollama"
    assert err.pip_command is None
    assert "Did you mean 'ollama'?" in str(err)
    assert "pip install" not in str(err) and "aexy-olama" not in str(err)
    assert "Set LLM_PROVIDER to an installed provider" in str(err)


def test_a_misspelt_published_provider_names_its_real_package() -> None:
    err = ProviderNotFoundError("olama", ["offline"])
    assert err.suggestion == "ollama"
    assert err.pip_command == "pip install aexy-ollama"
    assert "aexy-olama" not in str(err)


@pytest.mark.parametrize("name", ["mistral", "aexy-evil", "openai-proxy-free"])
def test_an_unknown_provider_never_gets_a_package_name_made_from_it(name: str) -> None:
    err = ProviderNotFoundError(name, ["offline"])
    assert err.pip_command is None
    assert "pip install" not in str(err)
    err.env_var = "LLM_FALLBACK_PROVIDERS"  # what the gateway does for a fallback name
    assert "Set LLM_FALLBACK_PROVIDERS" in str(err)


def test_provider_packages_are_the_provider_plugins_of_this_repository() -> None:
    import tomllib
    from pathlib import Path

    from aexy.plugins import PluginHost

    root = Path(__file__).resolve().parents[2]
    here = {tomllib.loads(f.read_text())["project"]["name"]
            for f in (root / "plugins").glob("*/pyproject.toml")}
    registry = PluginHost().providers()  # the installed workspace: every plugin of the repo
    providers_here = {name: registry.owners[name] for name in registry.names()
                      if registry.owners[name] in here}
    assert providers_here, "the workspace plugins are not installed"
    assert dict(PROVIDER_PACKAGES) == providers_here


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "bad_request"), (401, "authentication_error"), (402, "bad_request"),
     (403, "authentication_error"), (404, "not_found"), (408, "timeout"),
     (409, "bad_request"), (413, "context_length_exceeded"), (422, "bad_request"),
     (429, "rate_limit_exceeded"), (500, "server_error"), (502, "server_error"),
     (503, "overloaded"), (504, "timeout"), (529, "overloaded"), (599, "server_error"),
     (200, "server_error")],
)
def test_code_for_status_is_the_one_mapping(status: int, code: str) -> None:
    assert code_for_status(status).value == code


def test_closed_error_is_an_aexy_error_and_still_a_runtime_error() -> None:
    err = ClosedError("this LLMGateway")
    assert isinstance(err, AexyError) and isinstance(err, RuntimeError)
    assert str(err) == "this LLMGateway is closed (aclose() was called); create a new one"
