"""Profile reports as files in a directory: one per developer, written atomically as soon as
each is done, and reused on a rerun when their inputs have not changed."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from pydantic import ValidationError

from aexy.apps.profile import ProfileReport
from aexy.errors import InvalidInputError

__all__ = ["ReportStore", "report_file_name"]

#: Characters of the developer id kept in a file name (the whole name stays under 100 bytes,
#: well within the 255 of common file systems).
MAX_STEM = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9@.+_-]")


def report_file_name(developer_id: str) -> str:
    """``<id>-<hash>.json``: the id with anything but ASCII letters, digits and ``@.+_-``
    replaced, cut to :data:`MAX_STEM` characters, and the first 8 hex digits of its SHA-256,
    so that ids that read alike (``a/b@x``, ``a_b@x``) or share a long prefix never share a
    file."""
    stem = _UNSAFE.sub("_", developer_id).strip(".")[:MAX_STEM] or "author"
    digest = hashlib.sha256(developer_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{stem}-{digest}.json"


class ReportStore:
    """A directory of :class:`~aexy.apps.ProfileReport` files (a
    :class:`~aexy.apps.profile.ReportSink`)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(f"cannot write reports to {self.directory}: "
                                    f"{exc.strerror or exc}") from None

    def path_for(self, developer_id: str) -> Path:
        return self.directory / report_file_name(developer_id)

    def load(self, developer_id: str, inputs: str) -> ProfileReport | None:
        """The stored report of ``developer_id`` if it was made from ``inputs``; ``None``
        when there is none, it is unreadable, or its inputs differ (it will be redone)."""
        path = self.path_for(developer_id)
        try:
            report = ProfileReport.model_validate_json(path.read_bytes())
        except (OSError, ValidationError, ValueError):
            return None
        if report.inputs != inputs or report.developer_id != developer_id:
            return None
        return report

    def save(self, report: ProfileReport) -> Path:
        """Write ``report`` atomically (a temporary file renamed over the target): a run
        stopped at any moment leaves whole reports only."""
        target = self.path_for(report.developer_id)
        data = report.model_dump_json(indent=2).encode() + b"\n"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
