"""``python data_prep/distill.py``: the entry point of the distillation CLI, :mod:`data_prep.distill.cli`."""

from data_prep.distill.cli import PROG, main
from infra.cli_errors import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog=PROG))
