#!/usr/bin/env bash
# Usage: bash launch/submit.sh RECIPE [--validate] [--dry-run] [--local] [--wait] [cluster flags] [key=value ...]
#        (the per-model wrappers, e.g. bash launch/rl_qwen7b.sh, call this with their recipe)
# The one generic launcher: checks the inputs, echoes the resolved config, then submits launch/job.sbatch
# with nodes and GPUs read from the recipe (inside an allocation, it runs there directly).
# Inputs (environment, or the env file named by RMR1_ENV_FILE / --env-file):
#   RMR1_MODEL_PATH, RMR1_DATA_DIR, RMR1_OUTPUT_DIR   model, data builder output, shared output folder
#   RMR1_PARTITION, RMR1_ACCOUNT, RMR1_CPUS_PER_GPU, RMR1_TIME, ...   see launch/cluster.env.example
#   WANDB_API_KEY   only from the environment, never a flag or file
#   VALIDATE=1      same as --validate
# Everything after the flags is passed to verl as Hydra overrides.
set -euo pipefail

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then  # asked for: exit 0; no recipe at all: exit 2
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
if [ "$#" -lt 1 ]; then
  echo "launch/submit.sh: error: no recipe given; pass one, e.g. bash launch/submit.sh rl_qwen7b (--help for more)." >&2
  exit 2
fi

# shellcheck source=launch/project_python.sh
source "$(dirname "${BASH_SOURCE[0]}")/project_python.sh"  # sets $python
exec "$python" -m launch.submit "$@"
