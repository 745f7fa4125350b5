"""The ``aexy`` logger: a leaf, so that every layer (plugins through ``aexy.plugin_api``
included) logs under one name without importing telemetry."""

from __future__ import annotations

import logging

__all__ = ["logger"]

#: Structured records go through ``extra=``; plugins log under ``aexy.<name>`` children of it.
logger = logging.getLogger("aexy")
