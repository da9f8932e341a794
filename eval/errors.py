"""The evaluation tools' errors: each message is one sentence naming the input and the fix.

Every eval CLI runs under :func:`infra.cli_errors.run_cli`, which prints the sentence (no traceback)
and exits 2 for an :class:`EvalError` (bad input or flag: nothing was sent) or 1 for a
:class:`BackendError` (the run failed; finished generations stay cached).
"""

from __future__ import annotations

from infra.cli_errors import RunFailed, UserError


class EvalError(UserError):
    """A user-facing problem with an input, a flag or a file (CLIs print it and exit with status 2)."""


class BackendError(RunFailed):
    """A judge backend could not be built or stopped answering (CLIs print it and exit with status 1)."""
