#!/usr/bin/env bash
# Usage: bash launch/eval.sh --ckpt HF_DIR [--benchmarks rewardbench,...] [--nodes N] [--tp T] [--validate] [--dry-run] [cluster flags] [-- eval flags]
# Cluster eval: N data-parallel vLLM replicas (tensor parallel inside each) judge disjoint shards on Slurm,
# merged into one report equal to a single-process run; the scores go into HF_DIR's model card.
# Cluster flags and the env file (RMR1_ENV_FILE) are the training launcher's: see launch/submit.sh.
set -euo pipefail

# shellcheck source=launch/project_python.sh
source "$(dirname "${BASH_SOURCE[0]}")/project_python.sh"  # sets $python
exec "$python" -m launch.cluster_eval.cli "$@"
