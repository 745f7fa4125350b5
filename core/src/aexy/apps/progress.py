"""How an analyzer reports progress on long work (the CLI draws it as a progress bar)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_PROGRESS", "Progress"]


class Progress(Protocol):
    """Called from the event loop: ``planned`` when steps are known (it may be called again
    as more are found), ``advanced`` as each one finishes."""

    def planned(self, steps: int) -> None: ...

    def advanced(self, label: str) -> None: ...


class _NoProgress:
    def planned(self, steps: int) -> None:
        pass

    def advanced(self, label: str) -> None:
        pass


#: The default: progress goes nowhere.
NO_PROGRESS: Progress = _NoProgress()
