"""Checks every submission runs before anything is written: the recipe's own checks and the node settings.

Validate mode runs the recipe checks again on the cluster; a training submission runs them here, so
``+trainer.total_epoch=2`` (a key verl lacks) is refused before a job waits hours in the queue.
Warnings never stop a launch, but each one is printed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from launch.errors import LaunchError
from launch.settings import Settings


def check_recipe(composed: Any) -> list[str]:
    """Run ``recipes.validate.check_composed``; raise LaunchError naming every error, return the warnings."""
    from recipes.validate import check_composed

    report = check_composed(composed)
    if report.errors:
        reasons = "; ".join(f"[{p.check}] {p.message.rstrip('.')}" for p in report.errors)
        raise LaunchError(f"Not submitting {composed.name}: the recipe check found {len(report.errors)} "
                          f"error(s): {reasons}.")
    return [f"[{p.check}] {p.message}" for p in report.problems if p.level == "warning"]


def print_warnings(warnings: list[str]) -> None:
    """Every warning, one line each, so none hides in a JSON report."""
    for line in warnings:
        print(f"warning: {line}", flush=True)


def check_node_env(settings: Settings) -> list[str]:
    """Missing ``--setup`` script or ``--python`` interpreter, as phrases for the missing-inputs sentence.

    With a container image both paths are inside the image, which this host cannot see: not checked.
    """
    if settings.get("RMR1_CONTAINER_IMAGE"):
        return []
    missing = []
    setup = settings.get("RMR1_SETUP")
    if setup and not (Path(setup).is_file() and os.access(setup, os.R_OK)):
        missing.append(f"setup script {setup} ({settings.source('RMR1_SETUP')}; point --setup at a readable "
                       "script on the shared filesystem)")
    python = settings.get("RMR1_PYTHON")
    if python and not _runnable(python):
        missing.append(f"Python {python} ({settings.source('RMR1_PYTHON')}; point --python at an executable "
                       "interpreter on the shared filesystem)")
    return missing


def _runnable(program: str) -> bool:
    if os.sep in program:
        return Path(program).is_file() and os.access(program, os.X_OK)
    return shutil.which(program) is not None
