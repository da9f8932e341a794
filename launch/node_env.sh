#!/usr/bin/env bash
# Usage: bash launch/node_env.sh PROGRAM [ARGS...]
# Runs on every node before the launcher's Python steps (Ray nodes, driver, validate check):
# loads RMR1_MODULES and sources RMR1_SETUP (both from the cluster settings, launch/settings.py),
# then replaces itself with PROGRAM. Both unset: PROGRAM runs as is.
set -euo pipefail

if [ -n "${RMR1_MODULES:-}" ]; then
  if ! command -v module >/dev/null 2>&1; then
    echo "RMR1_MODULES is set but the module command is missing on $(hostname); load modules in RMR1_SETUP." >&2
    exit 2
  fi
  read -r -a modules <<<"$RMR1_MODULES"
  module load "${modules[@]}"
fi

if [ -n "${RMR1_SETUP:-}" ]; then
  if [ ! -r "$RMR1_SETUP" ]; then
    echo "RMR1_SETUP=$RMR1_SETUP is not a readable file on $(hostname); point it at a script on the shared filesystem." >&2
    exit 2
  fi
  # shellcheck source=/dev/null
  source "$RMR1_SETUP"
fi

exec "$@"
