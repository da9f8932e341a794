"""Slurm + Ray launchers, validate mode and the CPU preflight."""
