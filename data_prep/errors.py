"""The one user-error family of data_prep: the per-topic errors (``PairError``, ``SourceError``, ...) subclass
:class:`DataPrepError`, which :func:`infra.cli_errors.run_cli` reports in one sentence with exit code 2."""

from __future__ import annotations

from infra.cli_errors import UserError


class DataPrepError(UserError):
    """Input to the data builder that the user can fix; the message names the input and the fix."""


class BuildError(DataPrepError):
    """The build cannot produce usable data from these options (including two pairs with one id)."""
