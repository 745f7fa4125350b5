from __future__ import annotations

from collections.abc import Iterator

import pytest

from aexy_openai.provider import OpenAIProvider


@pytest.fixture(autouse=True)
def _forget_modes() -> Iterator[None]:
    # Learned structured-output modes are process-wide by design; tests start from none.
    OpenAIProvider.forget_learned_modes()
    yield
    OpenAIProvider.forget_learned_modes()
