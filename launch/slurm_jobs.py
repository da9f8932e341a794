"""Submit with ``sbatch`` and follow a job with ``scontrol`` (state, exit code, restarts), through requeues."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

# States after which the job will not run again (a requeued job goes back to PENDING instead).
TERMINAL = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
})


class SubmitError(RuntimeError):
    """sbatch refused the job; the message carries Slurm's reason."""


@dataclass(frozen=True)
class JobState:
    """A job as ``scontrol show job`` reports it."""

    job_id: str
    state: str
    exit_code: int
    restarts: int
    reason: str

    @property
    def done(self) -> bool:
        return self.state in TERMINAL


def submit(argv: list[str]) -> str:
    """Run an ``sbatch --parsable`` command; return the job id."""
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if out.returncode != 0:
        raise SubmitError(f"sbatch refused the job: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout.strip().split(";", 1)[0]


def parse_show_job(text: str) -> dict[str, str]:
    """``Key=Value`` pairs of one ``scontrol show job -o`` line (values hold no spaces except Command/...)."""
    fields: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep and key and key[0].isupper():
            fields.setdefault(key, value)
    return fields


def job_state(job_id: str) -> JobState | None:
    """The job's current state, or None when Slurm no longer knows it."""
    out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, check=False)
    if out.returncode != 0 and "Invalid job id" not in out.stderr:
        raise SubmitError(f"scontrol cannot show job {job_id}: {out.stderr.strip()}")
    if out.returncode != 0 or not out.stdout.strip():
        return None
    fields = parse_show_job(out.stdout)
    code = fields.get("ExitCode", "0:0").split(":", 1)[0]
    return JobState(
        job_id=job_id,
        state=fields.get("JobState", "UNKNOWN"),
        exit_code=int(code) if code.isdigit() else 1,
        restarts=int(fields.get("Restarts", "0") or 0),
        reason=fields.get("Reason", ""),
    )


def wait_for_job(job_id: str, poll: float = 2.0, timeout: float | None = None) -> JobState:
    """Block until the job reaches a terminal state (following requeues); print each state change."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        state = job_state(job_id)
        if state is None:
            raise SubmitError(f"Slurm no longer knows job {job_id}; read its log for the outcome.")
        if (state.state, state.restarts) != last:
            print(f"[launch] job {job_id}: {state.state}, restarts {state.restarts}, reason {state.reason}", flush=True)
            last = (state.state, state.restarts)
        if state.done:
            return state
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} is still {state.state} after {timeout:.0f} s.")
        time.sleep(poll)
