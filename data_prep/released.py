"""``python data_prep/released.py``: the entry point of the released-data CLI, :mod:`data_prep.distill.released`."""

from data_prep.distill.released import PROG, main
from infra.cli_errors import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog=PROG))
