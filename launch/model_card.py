"""``python -m launch.model_card``: the model card CLI (launch/export/card_eval.py), where the README calls it."""

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None


from infra.cli_errors import run_cli
from launch.export.card_eval import main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog="python -m launch.model_card"))
