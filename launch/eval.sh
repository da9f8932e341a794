#!/usr/bin/env bash
# Usage: bash launch/eval.sh --ckpt HF_DIR [--benchmarks rewardbench,...] [--nodes N] [--tp T] [--validate] [--dry-run] [cluster flags] [-- eval flags]
# Cluster eval: N data-parallel vLLM replicas (tensor parallel inside each) judge disjoint shards on Slurm,
# merged into one report equal to a single-process run; the scores go into HF_DIR's model card.
# Cluster flags and the env file (RMR1_ENV_FILE) are the training launcher's: see launch/submit.sh.
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
exec "$python" -m launch.eval_cluster "$@"
