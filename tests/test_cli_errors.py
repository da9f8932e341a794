"""The one CLI error convention: one line on stderr, the documented exit code, no traceback."""

from __future__ import annotations

import errno

import pytest

from infra.cli_errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, RunFailed, UserError, run_cli


class _Bad(UserError):
    pass


def _raiser(exc: BaseException | None, code: int | None = None):
    def main(argv):
        if exc is not None:
            raise exc
        return code
    return main


@pytest.mark.parametrize(("exc", "code", "expected"), [
    (None, None, EXIT_OK),  # main returns None: success
    (None, 3, 3),  # main's own code passes through
    (_Bad("--x is 0; pass 1 or more."), None, EXIT_USAGE),  # a package's user error
    (RunFailed("the server went away."), None, EXIT_FAILED),  # a run failure with a message
    (KeyboardInterrupt(), None, EXIT_INTERRUPTED),  # Ctrl-C
    (OSError(errno.ENOSPC, "No space left on device", "out/x.parquet"), None, EXIT_FAILED),  # disk full
    (OSError(errno.EROFS, "Read-only file system", "out"), None, EXIT_FAILED),  # read-only output
])
def test_exit_codes(exc, code, expected, capsys) -> None:
    assert run_cli(_raiser(exc, code), [], prog="demo") == expected
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") <= 1  # one line or nothing


def test_message_is_one_line_naming_the_input(capsys) -> None:
    run_cli(_raiser(_Bad("--out is a file,\n  not a folder; pass a folder.")), [], prog="demo")
    assert capsys.readouterr().err == "demo: error: --out is a file, not a folder; pass a folder.\n"


def test_disk_full_names_the_file(capsys) -> None:
    run_cli(_raiser(OSError(errno.ENOSPC, "No space left on device", "out/x.parquet")), [], prog="demo")
    err = capsys.readouterr().err
    assert "out/x.parquet" in err and "disk is full" in err


def test_bugs_keep_their_traceback() -> None:
    with pytest.raises(ZeroDivisionError):
        run_cli(_raiser(ZeroDivisionError()), [], prog="demo")
    with pytest.raises(OSError):  # an OSError nobody could fix from the command line is a bug
        run_cli(_raiser(OSError(errno.EBADF, "Bad file descriptor")), [], prog="demo")


@pytest.mark.parametrize("module", [
    "preflight",  # the preflight driver
    "testkit.tiny_model",  # the tiny model builder
    "testkit.synthetic_sources",  # the stand-in hub sources
    "testkit.loopback_judge",  # the scripted judge server
    "testkit.local_slurm",  # the local two-node Slurm kit
])
def test_kit_clis_say_a_bad_flag_in_one_line(module: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", module, "--bogus"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "usage:" not in done.stderr and "Traceback" not in done.stderr
    assert f"see python -m {module} --help" in done.stderr
