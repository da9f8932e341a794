"""The launcher's one user-error family and its run outcomes (exit codes from infra.cli_errors).

Every mistake a user can fix (a bad flag or setting, a missing input, a request the partition cannot
grant, a recipe that fails its checks) is a :class:`LaunchError`: one sentence naming the input and
the fix, exit code 2, no traceback. The subclasses only name the topic. Import-light (stdlib and
infra only): the orchestrator imports this on a node's system Python.
"""

from __future__ import annotations

from functools import partial

from infra.cli_errors import EXIT_INTERRUPTED, RunFailed, UserError
from infra.cli_errors import OneLineParser as _OneLineParser


class LaunchError(UserError):
    """Launcher input the user can fix; nothing was submitted."""


class SettingsError(LaunchError):
    """A bad cluster setting (flag, environment variable or env-file line)."""


class SlurmError(LaunchError):
    """A Slurm request or allocation that cannot work."""


class SubmitError(LaunchError):
    """Slurm refused the job, or it can never start as requested."""


class SlurmUnavailable(RunFailed):
    """Slurm's commands failed for a reason outside the user's input (exit 1)."""


class Cancelled(RunFailed):
    """Ctrl-C while following a job: the job was cancelled (or left running) as the message says."""

    exit_code = EXIT_INTERRUPTED


OneLineParser = partial(_OneLineParser, error_class=LaunchError)  # argparse errors as one LaunchError sentence (exit 2)
