"""``python data_prep/distill.py``: the entry point of the distillation CLI, :mod:`data_prep.distill.run`."""

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

from data_prep.distill.run import PROG, main
from infra.cli_errors import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog=PROG))
