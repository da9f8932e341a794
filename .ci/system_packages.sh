#!/usr/bin/env bash
# Debian packages CI needs beyond the base image (idempotent; run as root).
set -euo pipefail
need=()
command -v make >/dev/null || need+=(make)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
echo "system packages ready"
