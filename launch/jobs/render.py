"""Fill a job kind's template (``launch/jobs/<kind>.sh.in``) into the script sbatch runs.

The templates are plain bash with ``@@name`` placeholders (``$`` stays the shell's). The parts every
Slurm job shares are made here: the header (``#SBATCH`` lines from :mod:`launch.jobs.request`, the
node setup, the exported inputs), the requeue trap and the resume line, and the wait that lets the
trap run while the step works.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template

from launch.jobs.request import Request

HERE = Path(__file__).resolve().parent

# The batch shell waits for the step in the background, so SIGUSR1 runs the trap at once; `wait` returns
# early when it does, so it is repeated while the step still runs, then gives the step's exit code.
WAIT = """step=$!
while ! wait "$step" && kill -0 "$step" 2>/dev/null; do :; done
wait "$step\""""


class ShellTemplate(Template):
    delimiter = "@@"  # `$` belongs to bash


def render(kind: str, **values: str) -> str:
    """The script of job kind ``kind`` (a missing value is a bug here, so it raises)."""
    text = (HERE / f"{kind}.sh.in").read_text(encoding="utf-8")
    return ShellTemplate(text).substitute(values)


def quote(argv: Sequence[str]) -> str:
    return shlex.join(list(argv))


def header(title: str, request: Request, setup: str) -> str:
    """Shebang, what the job is, the #SBATCH lines, then the node setup."""
    return "\n".join(["#!/usr/bin/env bash", f"# {title}",
                      "# Rendered by the launcher (launch/jobs/); README 'Launch on Slurm' says how to adapt it.",
                      request.sbatch_lines(), "set -euo pipefail", setup])


def setup(repo: str, python: str, modules: str | None, script: str | None, env: Mapping[str, str]) -> str:
    """Module loads, the setup script, the project's Python first on PATH, the job's variables; then cd repo.

    Steps started with srun inherit this environment (srun exports all of it by default).
    """
    lines = []
    if modules:
        lines.append(f"module load {modules}")
    if script:
        lines += ["# shellcheck source=/dev/null", f"source {shlex.quote(script)}"]
    if "/" in python:
        lines.append(f'export PATH={shlex.quote(str(Path(python).parent))}:"$PATH"  # ray, torchrun')
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    lines.append(f"cd {shlex.quote(repo)}")
    return "\n".join(lines)


def requeue_trap(max_requeues: int) -> str:
    """The SIGUSR1 handler: ``scontrol requeue`` until the restart limit (Slurm restarts the same script)."""
    return f"""# sbatch --signal=B:USR1 comes before the time limit: requeue; the next run resumes (resume_mode=auto)
# shellcheck disable=SC2317  # run by the trap
requeue() {{
  if [ "${{SLURM_RESTART_COUNT:-0}}" -ge {max_requeues} ]; then
    echo "SIGUSR1: not requeueing: restart limit {max_requeues} reached (RMR1_MAX_REQUEUES)"
    return
  fi
  echo "time limit near: requeueing job $SLURM_JOB_ID (restart $(( ${{SLURM_RESTART_COUNT:-0}} + 1 )) of at most \\
{max_requeues}); the next run resumes from the latest checkpoint"
  scontrol requeue "$SLURM_JOB_ID"
}}
trap requeue USR1"""


def resume_line(checkpoint_dir: str) -> str:
    """Say where training starts: verl's resume_mode=auto reads latest_checkpointed_iteration.txt."""
    marker = shlex.quote(str(Path(checkpoint_dir) / "latest_checkpointed_iteration.txt"))
    where = shlex.quote(checkpoint_dir)
    return f"""if [ -f {marker} ]; then
  echo "restart ${{SLURM_RESTART_COUNT:-0}}: trainer.resume_mode=auto resumes from \\
global_step_$(cat {marker}) in {where}"
else
  echo "restart ${{SLURM_RESTART_COUNT:-0}}: no checkpoint in {where} yet; training starts at step 0"
fi"""
