"""Children that a test interrupts with Ctrl-C must see SIGINT whatever the shell that started the tests did.

A non-interactive shell starts background jobs (``make test &`` in a script) with SIGINT ignored, every
child inherits that, and Python installs its KeyboardInterrupt handler only when SIGINT is at its default
disposition at startup: the command under test would then shrug off the test's SIGINT and exit 0.
"""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def default_sigint() -> None:
    """``preexec_fn`` for a child a test sends SIGINT: SIGINT back to its default disposition before exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ctrl_c_at(argv: list[str], line_prefix: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run ``argv``, send it Ctrl-C once it prints a stdout line starting with ``line_prefix``, and wait for it."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint, **popen)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(line_prefix):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)
