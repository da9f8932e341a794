#!/usr/bin/env bash
# Usage: bash launch/rl_ds14b.sh [--validate] [--dry-run] [launcher flags] [key=value ...]
# RM-R1 GRPO for DeepSeek-R1-Distill-Qwen-14B: recipe rl_ds14b (resources in recipes/rl_ds14b.yaml).
# Flags, environment and overrides: see launch/submit.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/submit.sh" rl_ds14b "$@"
