"""The pluggy markers of aexy's hooks: ``@hookimpl`` on a plugin's functions, ``@hookspec`` on
the specifications in :mod:`aexy.hookspecs`."""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

#: The pluggy project name, which is also the entry-point group plugins are found in.
PROJECT_NAME = "aexy"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
