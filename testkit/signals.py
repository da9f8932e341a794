"""Children that a test interrupts with Ctrl-C must see SIGINT whatever the shell that started the tests did.

A non-interactive shell starts background jobs (``make test &`` in a script) with SIGINT ignored, every
child inherits that, and Python installs its KeyboardInterrupt handler only when SIGINT is at its default
disposition at startup: the command under test would then shrug off the test's SIGINT and exit 0.
"""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn`` for a child a test sends SIGINT: SIGINT back to its default disposition before exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
