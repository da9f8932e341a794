#!/usr/bin/env bash
# Usage: bash launch/sft_qwen7b.sh [--validate] [--dry-run] [launcher flags] [key=value ...]
# RM-R1 distillation SFT of Qwen2.5-7B-Instruct: recipe sft_qwen7b (resources in recipes/sft_size/7b.yaml),
# one torchrun per node for verl's SFT trainer. Then: python -m launch.export <run dir> --out <run dir>/hf.
# Flags, environment and overrides: see launch/submit.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/submit.sh" sft_qwen7b "$@"
