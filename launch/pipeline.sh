#!/usr/bin/env bash
# Usage: bash launch/pipeline.sh MODEL [--data-args "..."] [--distill-args "..."] [--from STAGE] [--dry-run] [-- launcher flags]
# The whole chain for one paper model (qwen7b, qwen14b, qwen32b, ds7b, ds14b, ds32b) as Slurm jobs joined by
# --dependency=afterok: data -> distill -> SFT -> export -> RL -> export -> eval (ds models: data -> RL -> export
# -> eval). Every stage is checked before the first job is submitted; --dry-run submits nothing.
# Needs RMR1_OUTPUT_DIR (an existing shared folder); see launch/pipeline.py and the README quickstart.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${RMR1_PYTHON:-}" ]; then
  python="$RMR1_PYTHON"
elif [ -x "$repo/.venv/bin/python" ]; then
  python="$repo/.venv/bin/python"
else
  python="python3"
fi
if ! "$python" -c 'import launch' 2>/dev/null; then
  echo "The launcher's Python ($python) cannot import the project; run 'make setup' or 'pip install -e .' in it, or set RMR1_PYTHON." >&2
  exit 2
fi
exec "$python" -m launch.pipeline "$@"
