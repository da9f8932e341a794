"""Slurm arguments from the composed recipe, and the check that Slurm granted what the recipe declares.

The recipe is the single source of resources: ``trainer.nnodes`` and ``trainer.n_gpus_per_node``
become ``--nodes`` / ``--gpus-per-node``; CPUs, time, requeue, signal and log paths come from the
cluster settings (``launch.settings``). Inside the job, :func:`check_granted` compares the
allocation's ``SLURM_*`` variables with the same numbers, so a hand-edited ``sbatch`` or a
mismatched ``salloc`` stops with one sentence instead of a hung Ray cluster.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch.errors import SlurmError
from launch.settings import Settings
from launch.spec import JobSpec

# sbatch --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_TIME = re.compile(r"^(?:(?P<d>\d+)-)?(?P<rest>\d+(?::\d+){0,2})$")
SIGNAL = "USR1"  # sent to the batch shell only (B:), which requeues the job


@dataclass(frozen=True)
class Resources:
    """What the recipe declares: nodes and GPUs per node."""

    nnodes: int
    gpus_per_node: int

    @property
    def gpus(self) -> int:
        return self.nnodes * self.gpus_per_node


@dataclass(frozen=True)
class Granted:
    """What Slurm granted, read from the allocation's environment."""

    job_id: str
    nnodes: int
    gpus_per_node: int | None
    cpus_per_node: int | None
    nodelist: str
    restart_count: int


def resources_of(cfg: Any) -> Resources:
    """The resource block of a composed recipe (``trainer.nnodes``, ``trainer.n_gpus_per_node``), each >= 1."""
    values = {}
    for key in ("nnodes", "n_gpus_per_node"):
        raw = cfg.trainer.get(key)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise SlurmError(f"trainer.{key} is {raw!r}; pass trainer.{key}=N with a whole number of 1 or more.")
        values[key] = raw
    return Resources(nnodes=values["nnodes"], gpus_per_node=values["n_gpus_per_node"])


def parse_time(text: str) -> int:
    """Seconds in a Slurm time limit (``90``, ``1:30:00``, ``2-00:00:00``), above 0; raises SlurmError otherwise."""
    match = _TIME.match(text.strip())
    if not match:
        raise SlurmError(f"time limit {text!r} is not a Slurm time; pass --time in minutes, H:M:S or D-H:M:S.")
    parts = [int(p) for p in match["rest"].split(":")]
    days = int(match["d"] or 0)
    if match["d"] is None:  # without days: M, M:S, H:M:S
        h, m, s = [0, *parts, 0][:3] if len(parts) < 3 else parts
    else:  # with days: D-H, D-H:M, D-H:M:S
        h, m, s = (parts + [0, 0])[:3]
    seconds = ((days * 24 + h) * 60 + m) * 60 + s
    if seconds <= 0:
        raise SlurmError(f"time limit {text!r} is zero; pass --time with a limit above 0, e.g. 24:00:00.")
    return seconds


def parse_gpus(value: str) -> int:
    """GPU count in a ``SLURM_GPUS_PER_NODE`` value: ``8``, ``h100:8`` or ``a100:2,v100:2`` (summed)."""
    total = 0
    for item in value.split(","):
        count = item.split("(", 1)[0].strip().rsplit(":", 1)[-1]  # "gpu:8(IDX:0-7)" in some versions
        if not count.isdigit():
            raise SlurmError(f"cannot read a GPU count from {value!r}; request GPUs with --gpus-per-node=N.")
        total += int(count)
    return total


def sbatch_argv(
    resources: Resources, settings: Settings, job_name: str, log_dir: Path, script: Path, script_args: Sequence[str]
) -> list[str]:
    """The full ``sbatch`` command: resources from the recipe, everything else from the settings."""
    cpus = cpus_per_node(resources, settings)
    limit = settings.get("RMR1_TIME") or ""
    parse_time(limit)  # a bad or zero limit is refused here, before anything is written
    log = str(log_dir / "%x-%j.log")
    argv = [
        "sbatch",
        "--parsable",
        f"--job-name={job_name}",
        f"--nodes={resources.nnodes}",
        "--ntasks-per-node=1",
        f"--gpus-per-node={resources.gpus_per_node}",
        f"--cpus-per-task={cpus}",
        f"--time={limit}",
        f"--output={log}",
        f"--error={log}",
        "--open-mode=append",  # a requeued run appends to the same log instead of truncating it
        "--export=ALL",  # secrets such as WANDB_API_KEY travel in the environment, never on a command line
    ]
    if settings.integer("RMR1_REQUEUE"):
        argv += ["--requeue", f"--signal=B:{SIGNAL}@{signal_seconds(settings)}"]
    else:
        argv.append("--no-requeue")
    for env, flag in (("RMR1_PARTITION", "--partition"), ("RMR1_ACCOUNT", "--account"), ("RMR1_QOS", "--qos")):
        if settings.get(env):
            argv.append(f"{flag}={settings.get(env)}")
    if settings.get("RMR1_MEM"):
        argv.append(f"--mem={settings.get('RMR1_MEM')}")
    argv += shlex.split(settings.get("RMR1_SBATCH_ARGS") or "")
    return argv + [str(script), *script_args]


def cpus_per_node(resources: Resources, settings: Settings) -> int:
    """CPUs asked per node: GPUs per node x RMR1_CPUS_PER_GPU (a knob of 1 or more)."""
    return resources.gpus_per_node * (settings.integer("RMR1_CPUS_PER_GPU") or 1)


def signal_seconds(settings: Settings) -> int:
    """Seconds before the limit at which the job requeues itself; must leave the job some run time."""
    seconds = settings.integer("RMR1_SIGNAL_SECONDS") or 0
    limit = parse_time(settings.get("RMR1_TIME") or "")
    if not 0 < seconds < limit:
        raise SlurmError(
            f"RMR1_SIGNAL_SECONDS={seconds} must be above 0 and below the time limit of {limit} s "
            f"(RMR1_TIME={settings.get('RMR1_TIME')}); lower it or raise the time limit."
        )
    if seconds > 65535:
        raise SlurmError(f"RMR1_SIGNAL_SECONDS={seconds} is above Slurm's maximum of 65535; lower it.")
    return seconds


def granted_from_env(environ: Mapping[str, str]) -> Granted:
    """Read the allocation from ``SLURM_*`` variables; raises SlurmError outside an allocation."""
    job_id = environ.get("SLURM_JOB_ID")
    nodes = environ.get("SLURM_JOB_NUM_NODES") or environ.get("SLURM_NNODES")
    if not job_id or not nodes:
        raise SlurmError("not inside a Slurm allocation (SLURM_JOB_ID is unset); submit with sbatch or salloc.")
    gpus = environ.get("SLURM_GPUS_PER_NODE") or environ.get("SLURM_GPUS_ON_NODE")
    cpus = environ.get("SLURM_CPUS_PER_TASK") or environ.get("SLURM_CPUS_ON_NODE")
    return Granted(
        job_id=job_id,
        nnodes=int(nodes),
        gpus_per_node=parse_gpus(gpus) if gpus else None,
        cpus_per_node=int(cpus) if cpus and cpus.isdigit() else None,
        nodelist=environ.get("SLURM_JOB_NODELIST") or environ.get("SLURM_NODELIST") or "",
        restart_count=int(environ.get("SLURM_RESTART_COUNT") or 0),
    )


def check_granted(resources: Resources, granted: Granted, recipe: str) -> list[str]:
    """One sentence per difference between what the recipe declares and what Slurm granted."""
    problems = []
    if granted.nnodes != resources.nnodes:
        problems.append(
            f"Slurm granted {granted.nnodes} node(s) but {recipe} declares trainer.nnodes={resources.nnodes}; "
            f"request --nodes={resources.nnodes} (the launcher does) or pass trainer.nnodes={granted.nnodes}."
        )
    if granted.gpus_per_node is None:
        problems.append(
            f"the allocation declares no GPUs per node (SLURM_GPUS_PER_NODE unset) but {recipe} needs "
            f"{resources.gpus_per_node}; allocate with --gpus-per-node={resources.gpus_per_node}."
        )
    elif granted.gpus_per_node != resources.gpus_per_node:
        problems.append(
            f"Slurm granted {granted.gpus_per_node} GPU(s) per node but {recipe} declares "
            f"trainer.n_gpus_per_node={resources.gpus_per_node}; allocate --gpus-per-node={resources.gpus_per_node}."
        )
    return problems


def hostnames(nodelist: str) -> list[str]:
    """Expand a Slurm node list (``n[1-2]``) into one name per node, with Slurm's own ``scontrol``.

    verl's example script keeps the whole list as ONE array element; here each line is one node.
    """
    out = subprocess.run(
        ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=False, timeout=60
    )
    names = out.stdout.split()
    if out.returncode != 0 or not names:
        raise SlurmError(f"scontrol could not expand node list {nodelist!r}: {out.stderr.strip() or 'no output'}.")
    return names


def srun_argv(node: str, spec: JobSpec, cpus: int | None, log: Path | None = None, name: str = "rmr1") -> list[str]:
    """``srun`` running one task on ``node``; steps overlap so Ray, the driver and checks share the node.

    ``name`` names the step, so teardown can find it and signal its task gracefully (see launch.job).
    """
    argv = ["srun", "--overlap", "--nodes=1", "--ntasks=1", f"--nodelist={node}", f"--job-name={name}"]
    argv.append("--kill-on-bad-exit=1")
    if cpus:
        argv.append(f"--cpus-per-task={cpus}")
    if log is not None:
        argv += [f"--output={log}", f"--error={log}", "--open-mode=append"]
    if spec.container_image:
        argv.append(f"--container-image={spec.container_image}")
        if spec.container_mounts:
            argv.append(f"--container-mounts={spec.container_mounts}")
    return argv + list(spec.srun_args)


def step_ids(job_id: str) -> dict[str, str]:
    """``{step name: "job.step"}`` of the job's running steps (``squeue -s``)."""
    out = subprocess.run(
        ["squeue", "-h", "-s", "-j", job_id, "-o", "%i %j"], capture_output=True, text=True, check=False, timeout=30
    )
    pairs = (line.split(None, 1) for line in out.stdout.splitlines() if line.strip())
    return {name.strip(): step for step, name in pairs}


def signal_step(step: str, sig: str = "TERM") -> None:
    """Send ``sig`` to the tasks of one step (``scancel --signal``); srun on SIGTERM would SIGKILL them instead.

    Slurm 22.05's scancel delivers the signal to a step's tasks yet exits non-zero ("Invalid job id"), so
    the exit code says nothing: the caller waits for the step to end and forces it after a grace period.
    """
    subprocess.run(["scancel", f"--signal={sig}", step], capture_output=True, check=False, timeout=30)
