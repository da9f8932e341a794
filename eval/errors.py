"""Errors the evaluation tools raise on purpose: each message is one sentence naming the input and the fix."""

from __future__ import annotations


class EvalError(ValueError):
    """A user-facing problem with an input, a flag or a file (CLIs print it and exit with status 2)."""


class BackendError(RuntimeError):
    """A judge backend could not be built or stopped answering (CLIs print it and exit with status 1)."""
