#!/usr/bin/env bash
# Usage: source "$(dirname "${BASH_SOURCE[0]}")/project_python.sh"   (from a launcher script; sets $python)
# Sourced by the launcher scripts (submit.sh, pipeline.sh, eval.sh): sets $python to the interpreter that
# runs the project. RMR1_PYTHON if set, else the repo's .venv (made by `make setup`), else python3 on PATH.
# Exits 2 with one sentence when that Python cannot import the project.
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
