"""Slurm + Ray launchers and validate mode (the CPU preflight is the :mod:`preflight` package)."""
