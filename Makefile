# Developer entry points. `make preflight` and `make test` are the README's two commands.
# Both create .venv with the CPU set on first use (about 3-4 minutes on 2 cores).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A plain Linux box would otherwise pull a multi-GB CUDA torch: take the CPU build explicitly.
# Machines that carry the CPU wheel locally (pip find-links) install it with --no-index first.
TORCH_SPEC ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.installed-cpu

.PHONY: setup preflight test test-cluster lint bench gpu-setup clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12), "verl 0.9.1 needs Python 3.10-3.12: set PYTHON=python3.X"'
	$(PYTHON) -m venv $(VENV)
	@# Local wheel first (just torch itself; its dependencies come with the next step), else the CPU index.
	$(PY) -m pip install -q --no-index --no-deps "$(TORCH_SPEC)" 2>/dev/null \
	  || $(PY) -m pip install -q "$(TORCH_SPEC)" --index-url "$(TORCH_CPU_INDEX)"
	$(PY) -m pip install -q -e ".[cpu]"
	$(PY) -m pip download -q --no-deps rewardbench==0.1.4 -d .cache/wheels
	touch $@

preflight: $(STAMP)
	$(PY) -m preflight

# Two tiers (markers in pyproject.toml): `test` needs no cluster; `test-cluster` brings up a real two-node
# Slurm, local Ray nodes and torchrun rendezvous (root, slurm-wlm, munge: .ci/system_packages.sh).
# The fast tier runs on TEST_WORKERS processes (a test file stays on one, so module fixtures are built once).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q --durations=15 -m "not cluster and not lint" -n $(TEST_WORKERS) --dist loadfile

test-cluster: $(STAMP)
	$(PY) -m pytest -q --durations=15 -m cluster

# Code and repository shape: style, import layering and circles, types, shell scripts, the README's tree.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	@# shellcheck is a system package: a hint locally without it, a failure under CI=true
	@if command -v shellcheck >/dev/null; then git ls-files -z '*.sh' '*.sbatch' .ci/run | xargs -0 shellcheck -x; \
	elif [ -n "$$CI" ]; then echo "shellcheck is missing: run bash .ci/system_packages.sh" >&2; exit 1; \
	else echo "shellcheck skipped: not installed (apt-get install -y shellcheck)"; fi
	$(PY) -m pytest -q -m lint

bench: $(STAMP)
	$(PY) benchmarks/reward_speed.py

# GPU cluster install, staged as requirements.txt explains (run inside the cluster's Python env).
gpu-setup:
	pip install torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0
	pip install -r requirements.txt
	pip install flash-attn==2.8.3 --no-build-isolation
	pip install --no-deps -e .

clean-venv:
	rm -rf $(VENV)
