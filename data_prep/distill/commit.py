"""The output files of distill.py and released.py land together or not at all, and never mix two datasets.

The commit is :class:`infra.staged_output.StagedOutput`'s: stale managed files of an earlier run (a
``val.parquet`` when the new run has no validation split) are removed in the same commit. ``identity`` says
what the files are made from (tool, input hash, teacher model...): a folder whose manifest names another
is refused before any work, naming what it holds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from infra.staged_output import StagedOutput
from infra.user_json import read_json_file

STAGE_PREFIX, JOURNAL_KEY = ".commit-", "existed"
IDENTITY_KEY = "output_identity"  # where the identity lives in a manifest's config


class OutputError(DataPrepError):
    """An output folder that cannot be used (a file, read-only, in use, or holding another dataset)."""


class OutputFiles(StagedOutput):
    """The managed files committed into ``folder`` together, refused when it holds another dataset (module doc)."""

    def __init__(self, folder: str | os.PathLike[str], managed: Sequence[str], identity: Mapping[str, Any]) -> None:
        super().__init__(folder, error=OutputError, prefix=STAGE_PREFIX, journal_key=JOURNAL_KEY,
                         check=lambda root: check_identity(root, managed, identity))
        self.managed = tuple(managed)

    def commit(self, names: Sequence[str] | None = None) -> None:
        """Swap the new files in and remove stale managed ones; rolled back on any error before the end."""
        super().commit(self.managed)


def check_identity(folder: Path, managed: Sequence[str], identity: Mapping[str, Any]) -> None:
    """Refuse ``folder`` when its files were made from something else than ``identity``."""
    present = [name for name in managed if (folder / name).exists()]
    data = read_json_file(folder / "manifest.json", default=None) if present else None
    config = data.get("config") if isinstance(data, dict) else None
    held = config.get(IDENTITY_KEY) if isinstance(config, dict) else None
    if not present or held == dict(identity):
        return
    if not isinstance(held, dict):
        what = f"holds {', '.join(present)} that no manifest of this tool describes"
    else:
        inputs = data.get("inputs") if isinstance(data, dict) else None
        names = [str(i.get("name")) for i in inputs if isinstance(i, dict)] if isinstance(inputs, list) else []
        diff = sorted(k for k in set(held) | set(identity) if held.get(k) != identity.get(k))
        what = f"holds data made from {', '.join(repr(n) for n in names[:3]) or 'another input'} (" + "; ".join(
            f"{k} {_short(held.get(k))}, not {_short(identity.get(k))}" for k in diff) + ")"
    raise OutputError(f"--out {os.fspath(folder)!r} {what}; so the two datasets do not mix, pass another --out "
                      f"or delete {', '.join(present)} there to replace them (anything else in it can stay).")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "...'"
