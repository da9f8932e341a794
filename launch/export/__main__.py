import sys

from infra.cli_errors import run_cli
from launch.export.cli import PROG, main

sys.exit(run_cli(main, prog=PROG))
