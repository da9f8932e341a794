"""``python -m launch.model_card``: the model card CLI, kept where the README and eval.sh call it."""

import sys

from infra.cli_errors import run_cli
from launch.export.card import PROG, main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))
