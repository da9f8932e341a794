#!/usr/bin/env bash
# Usage: bash launch/rl_qwen32b.sh [--validate] [--dry-run] [launcher flags] [key=value ...]
# RM-R1 GRPO for Qwen2.5-32B-Instruct after distillation SFT: recipe rl_qwen32b (resources in recipes/rl_qwen32b.yaml).
# Flags, environment and overrides: see launch/submit.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/submit.sh" rl_qwen32b "$@"
