#!/usr/bin/env bash
# Usage: bash launch/pipeline.sh MODEL [--data-args "..."] [--distill-args "..."] [--from STAGE] [--dry-run] [-- launcher flags]
# The whole chain for one paper model (qwen7b, qwen14b, qwen32b, ds7b, ds14b, ds32b) as Slurm jobs joined by
# --dependency=afterok: data -> distill -> SFT -> export -> RL -> export -> eval (ds models: data -> RL -> export
# -> eval). Every stage is checked before the first job is submitted; --dry-run submits nothing.
# Needs RMR1_OUTPUT_DIR (an existing shared folder); see launch/pipeline.py and the README quickstart.
set -euo pipefail

# shellcheck source=launch/project_python.sh
source "$(dirname "${BASH_SOURCE[0]}")/project_python.sh"  # sets $python
exec "$python" -m launch.pipeline "$@"
