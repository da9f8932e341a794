"""Never destroy an input: the one check every CLI runs on an output path before it writes anything
(:func:`check_output`; the refusal is one sentence, exit 2 through :func:`infra.cli_errors.run_cli`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from infra.cli_errors import UserError
from infra.cli_flags import shown

PathLike = str | os.PathLike[str]
_FIXES = {"is": "another {flag}", "holds": "an {flag} that does not hold it", "is inside": "an {flag} outside it"}


class OutputClash(UserError):
    """An output path that would overwrite an input or something the command did not make."""


def check_output(flag: str, out: PathLike, inputs: Iterable[tuple[str, PathLike | None]] = (), *,
                 ours: Callable[[Path], bool] | None = None) -> None:
    """Refuse ``out`` (given as ``flag``) when it is, holds or sits inside an input (symlinks resolved), or exists
    and is not this command's own earlier output: writing it could destroy an input or a stranger's file.

    ``inputs`` are ``(flag, path)`` pairs of the same command; ``None`` paths and names that are not
    local paths (hub ids) are skipped. ``ours(out)`` tells whether an existing ``out`` is this command's
    own earlier output (an empty folder may count as ours; the caller decides); without it any existing
    ``out`` is refused.
    """
    real_out, named = Path(os.path.realpath(out)), f"{flag} {shown(os.fspath(out), 200)}"
    for input_flag, path in inputs:
        if path is None or not os.path.lexists(path):
            continue
        clash = _relation(real_out, Path(os.path.realpath(path)))
        if clash:
            raise OutputClash(f"{named} {clash} {input_flag} {shown(os.fspath(path), 200)}; writing there could "
                              f"destroy that input, so pass {_FIXES[clash].format(flag=flag)}.")
    if os.path.lexists(out) and (ours is None or not ours(Path(out))):
        kind = "folder" if os.path.isdir(out) else "file"
        raise OutputClash(f"{named} is an existing {kind} this command did not make; pass a new {flag}, or move "
                          f"that {kind} away first if it may be replaced.")


def _relation(out: Path, data: Path) -> str | None:
    """How the real output path relates to a real input path ("is", "holds", "is inside"), or None."""
    if out == data:
        return "is"
    if data.is_relative_to(out):
        return "holds"
    if out.is_relative_to(data):
        return "is inside"
    return None
