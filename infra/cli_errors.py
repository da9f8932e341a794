"""One error convention for every command-line entry point of the project (the README's exit-code table).

Each package raises a subclass of :class:`UserError` for input a user can fix; its message is one
sentence that names the input and the fix. A CLI's ``main`` is wrapped once by :func:`run_cli`,
which prints that sentence (never a traceback) and returns the documented code.

>>> class DemoError(UserError):
...     pass
>>> def main(argv):
...     raise DemoError("--limit is -1; pass a whole number of 1 or more.")
>>> import contextlib, io
>>> with contextlib.redirect_stderr(io.StringIO()) as err:
...     code = run_cli(main, [], prog="demo")
>>> code, err.getvalue()
(2, 'demo: error: --limit is -1; pass a whole number of 1 or more.\\n')
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

EXIT_OK = 0  # the run did what was asked
EXIT_FAILED = 1  # the run failed (a stage, a server, the disk, a bug)
EXIT_USAGE = 2  # bad input or a bad flag: nothing was started or written
EXIT_INTERRUPTED = 130  # interrupted (Ctrl-C / SIGINT)

# OSErrors that a user causes and fixes (a path that is wrong, read-only or full), said in one line.
_USER_OS_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
}


class UserError(ValueError):
    """Input a user can fix. The message is one sentence naming the input and the fix.

    Subclasses ``ValueError`` so that code written against the older per-module errors keeps working.
    """

    exit_code: int = EXIT_USAGE


class RunFailed(RuntimeError):
    """The run could not finish for a reason outside the user's input; exits 1 with the message only."""

    exit_code: int = EXIT_FAILED


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one sentence (exit 2 through :func:`run_cli`), not a usage dump.

    ``OneLineParser(prog=..., error_class=PackageError)`` raises the package's own :class:`UserError`
    subclass (the flag types live in :mod:`infra.cli_flags`).
    """

    def __init__(self, *args: Any, error_class: type[UserError] = UserError, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_class = error_class

    def error(self, message: str) -> NoReturn:
        raise self.error_class(f"{message}; see {self.prog} --help.")


def os_reason(err: OSError) -> str:
    """What went wrong, in a few lower-case words: "the disk is full", or the OS's own words."""
    return _USER_OS_ERRNOS.get(err.errno or -1) or (err.strerror or str(err) or type(err).__name__).lower()


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None, *,
            prog: str) -> int:
    """Call ``main(argv)`` and turn the expected failures into one line on stderr and the documented code.

    Unexpected exceptions (bugs) still show their traceback: hiding them would hide the bug.
    """
    try:
        code = main(argv)
    except (UserError, RunFailed) as err:
        _say(prog, str(err))
        return err.exit_code
    except KeyboardInterrupt:
        _say(prog, "interrupted; nothing half-written was kept, and a rerun resumes where it can.")
        return EXIT_INTERRUPTED
    except OSError as err:
        if err.errno not in _USER_OS_ERRNOS:
            raise
        where = f" writing {err.filename}" if err.filename else ""  # a full disk, a read-only output folder
        _say(prog, f"could not finish{where}: {os_reason(err)}; free space or choose a writable path, then run again.")
        return EXIT_FAILED
    return EXIT_OK if code is None else int(code)


def _say(prog: str, message: str) -> None:
    one_line = " ".join(message.split())
    try:
        print(f"{prog}: error: {one_line}", file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # stderr closed: the exit code still tells
        pass
