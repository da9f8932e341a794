"""``python -m preflight``: run the CPU preflight (see :mod:`preflight.driver`)."""

from infra.cli_errors import run_cli
from preflight.driver import main

raise SystemExit(run_cli(main, prog="python -m preflight"))
