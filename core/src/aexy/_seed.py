"""Where the seed API's ``provider.analyze()`` finds the pipeline that runs it.

``BaseLLMProvider.analyze()`` (the original design's provider method) needs the whole call path
(catalogue, prompts, validation), which sits far above the plugin contract that defines the
provider base. The contract reads the runner from here; the package facade, the top of the
package and the first module Python imports for any ``aexy.*`` name, puts it here. So nothing
below the gateway imports it, and the seed API works however a provider was imported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["SeedRunner", "runner"]

#: ``runner(provider, analysis_type, content, context) -> result``.
SeedRunner = Callable[[Any, Any, str, Any], Awaitable[Any]]

runner: SeedRunner | None = None
