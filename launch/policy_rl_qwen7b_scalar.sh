#!/usr/bin/env bash
# Usage: bash launch/policy_rl_qwen7b_scalar.sh [--validate] [--dry-run] [launcher flags] [key=value ...]
# The controlled baseline of launch/policy_rl_qwen7b.sh: the same run with a scalar reward model (recipe
# policy_rl_qwen7b_scalar) and the same driver, recipes/policy_trainer.py. Flags, environment and overrides: see
# launch/submit.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/submit.sh" policy_rl_qwen7b_scalar --driver-module recipes.policy_trainer "$@"
