"""The one user-error family of data_prep.

Every error a user can fix (a missing file, a bad row, a bad flag value, a mix that names an unknown
adapter) is a :class:`DataPrepError`; the per-topic names (``PairError``, ``SourceError``, ...) are
its subclasses, kept so that callers can tell the topics apart. The CLI catches the family once,
through :func:`infra.cli_errors.run_cli`: one sentence, exit code 2, no traceback.
"""

from __future__ import annotations

from infra.cli_errors import UserError


class DataPrepError(UserError):
    """Input to the data builder that the user can fix; the message names the input and the fix."""


class BuildError(DataPrepError):
    """The build cannot produce usable data from these options (including two pairs with one id)."""
