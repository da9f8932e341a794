#!/usr/bin/env bash
# Usage: bash launch/policy_rl_qwen7b.sh [--validate] [--dry-run] [launcher flags] [key=value ...]
# Policy GRPO for Qwen2.5-7B-Instruct with the trained judge as reward: recipe policy_rl_qwen7b (judge=colocated).
# Flags, environment and overrides: see launch/submit.sh. Baseline: launch/policy_rl_qwen7b_scalar.sh.
# The driver is recipes/policy_trainer.py: verl's main_ppo plus the judge monitor's metrics (judge/...) per step.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/submit.sh" policy_rl_qwen7b --driver-module recipes.policy_trainer "$@"
