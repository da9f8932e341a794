"""The evaluation tools' errors: each message is one sentence naming the input and the fix.

Every eval CLI runs under :func:`infra.cli_errors.run_cli`, which prints the sentence (no traceback)
and exits 2 for an :class:`EvalError` (bad input or flag: nothing was sent) or 1 for a
:class:`BackendError` (the run failed; finished generations stay cached).
"""

from __future__ import annotations

from collections.abc import Sequence

from infra.cli_errors import RunFailed, UserError


class EvalError(UserError):
    """A user-facing problem with an input, a flag or a file (CLIs print it and exit with status 2)."""


class BackendError(RunFailed):
    """A judge backend could not be built or stopped answering (CLIs print it and exit with status 1)."""


SHOWN_PROBLEMS = 10  # a numbered list this long, then a count: every bad row is found in one run


def refused(problems: Sequence[str], what: str, fix: str) -> None:
    """Raise one EvalError listing every problem (numbered, capped with a count); nothing if there is none.

    One problem is its own sentence; several are ``WHAT N problems: 1) ...; 2) ...; and K more; FIX.``
    (``what`` ends with its verb: ``--data 'x' has``).
    """
    if len(problems) == 1:
        raise EvalError(problems[0] if problems[0].endswith(".") else f"{what} {problems[0]}; {fix}.")
    if problems:
        shown = "; ".join(f"{n}) {p.rstrip('.')}" for n, p in enumerate(problems[:SHOWN_PROBLEMS], start=1))
        more = f"; and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise EvalError(f"{what} {len(problems)} problems: {shown}{more}; {fix}.")
