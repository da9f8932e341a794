"""All variants of a build land in ``--out`` together, or none does; a killed build is undone next time.

The mechanism (stage, journal, lock, swap, undo, recover) is :class:`infra.staged_output.StagedOutput`;
a build stages each variant folder in ``{out}/.build-XXXX/new/{variant}/`` and commits them together.
"""

from __future__ import annotations

import os
from pathlib import Path

from data_prep.errors import BuildError
from infra.staged_output import StagedOutput, check_folder

STAGE_PREFIX, JOURNAL_KEY = ".build-", "variants"


class OutputTree(StagedOutput):
    """``with OutputTree(out) as tree:`` write into :meth:`folder`, then :meth:`commit` (else nothing lands)."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        super().__init__(out, what="build", error=BuildError, prefix=STAGE_PREFIX, journal_key=JOURNAL_KEY)


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or inside one, or not writable, before anything is read."""
    check_folder(out, "--out", BuildError)

