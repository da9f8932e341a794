"""``python -m launch.model_card``: the model card CLI (launch/export/card_eval.py), where the README calls it."""

import sys

from infra.cli_errors import run_cli
from launch.export.card_eval import main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog="python -m launch.model_card"))
