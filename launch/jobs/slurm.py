"""Submit with ``sbatch`` and follow a job with ``scontrol`` (state, exit code, restarts), through requeues.

A job can wait in the queue for a reason that will never clear (the request exceeds what the partition
allows): following it would hang forever, so such a job is cancelled and named with the fix.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass

from launch.errors import SlurmUnavailable, SubmitError

# States after which the job will not run again (a requeued job goes back to PENDING instead).
TERMINAL = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
})


# Pending reasons that no amount of waiting clears: the partition, account or QOS can never grant the
# request as written (squeue(1), "JOB REASON CODES"). Resources, Priority and group limits do clear.
HOPELESS_REASONS = frozenset({
    "PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints", "InvalidAccount",
    "InvalidQOS", "AccountNotAllowed", "QOSNotAllowed", "DependencyNeverSatisfied",
})
_HOPELESS_LIMIT = re.compile(r"^(Assoc|QOS)Max\w*PerJob|^QOSMin")
REASON_FIX = {
    "PartitionConfig": "the request (CPUs, GPUs or nodes per node) exceeds what the partition's nodes have; lower "
    "--cpus-per-gpu (RMR1_CPUS_PER_GPU) or the recipe's GPUs, or choose another --partition",
    "PartitionNodeLimit": "the recipe asks more nodes than the partition allows; choose another --partition",
    "PartitionTimeLimit": "--time (RMR1_TIME) is above the partition's limit; lower it",
}


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

    @property
    def hopeless(self) -> bool:
        """Pending for a reason that cannot clear by waiting."""
        return self.state == "PENDING" and (self.reason in HOPELESS_REASONS or bool(_HOPELESS_LIMIT.match(self.reason)))


def submit(argv: list[str]) -> str:
    """Run an ``sbatch --parsable`` command; return the job id."""
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if out.returncode != 0:
        why = " ".join((out.stderr.strip() or out.stdout.strip()).split())
        raise SubmitError(f"sbatch refused the job ({why}); fix the setting it names and submit again.")
    return out.stdout.strip().split(";", 1)[0]


def cancel(job_id: str) -> bool:
    """``scancel`` the job (a second Ctrl-C cannot interrupt it); True when Slurm accepted."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        out = subprocess.run(["scancel", job_id], capture_output=True, text=True, check=False, timeout=60)
    finally:
        signal.signal(signal.SIGINT, previous)
    return out.returncode == 0


def refuse_if_hopeless(state: JobState, name: str) -> None:
    """Cancel a job that can never start and raise SubmitError naming the reason and the fix."""
    if not state.hopeless:
        return
    cancel(state.job_id)
    fix = REASON_FIX.get(state.reason, "change the request Slurm names, or ask your admins what it needs")
    raise SubmitError(
        f"Slurm job {state.job_id} ({name}) can never start: it is pending with reason {state.reason}, so it was "
        f"cancelled; {fix}."
    )


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
        raise SlurmUnavailable(f"scontrol cannot show job {job_id}: {out.stderr.strip()}.")
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


def wait_for_job(job_id: str, poll: float = 2.0, timeout: float | None = None, name: str = "") -> JobState:
    """Block until the job reaches a terminal state (following requeues); print each state change.

    A job pending for a reason that cannot clear is cancelled (SubmitError), instead of waited for forever.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        state = job_state(job_id)
        if state is None:
            raise SlurmUnavailable(f"Slurm no longer knows job {job_id}; read its log for the outcome.")
        if (state.state, state.restarts, state.reason) != last:
            print(f"[launch] job {job_id}: {state.state}, restarts {state.restarts}, reason {state.reason}", flush=True)
            last = (state.state, state.restarts, state.reason)
        refuse_if_hopeless(state, name or job_id)
        if state.done:
            return state
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} is still {state.state} after {timeout:.0f} s.")
        time.sleep(poll)
