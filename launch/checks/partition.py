"""Check a job's request against the partition (``sinfo``) before submitting it.

Slurm accepts a job whose nodes must have more CPUs or GPUs than any node of the partition has, and
keeps it PENDING (reason ``PartitionConfig``) for ever. Reading the partition first turns that into one
sentence with the numbers and the setting to change. Without ``sinfo`` (or when it fails) nothing is
checked here; ``launch.jobs.slurm`` still cancels a job that can never start.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from launch.errors import SubmitError
from launch.jobs.request import Request, parse_time

_UNLIMITED = {"infinite", "unlimited", "n/a", ""}


@dataclass(frozen=True)
class NodeInfo:
    """One node of a partition as ``sinfo -N`` shows it."""

    name: str
    partition: str
    default: bool
    cpus: int
    gpus: int
    time_limit: str


def parse_gres_gpus(gres: str) -> int:
    """GPUs in an sinfo GRES field: ``gpu:8``, ``gpu:h100:8(S:0-1)``, ``gpu:a:2,gpu:b:2``; 0 for ``(null)``."""
    total = 0
    for item in gres.split(","):
        name, _, rest = item.partition(":")
        count = rest.split("(", 1)[0].rsplit(":", 1)[-1]
        if name.strip() == "gpu" and count.isdigit():
            total += int(count)
    return total


def parse_sinfo(text: str) -> list[NodeInfo]:
    """Rows of ``sinfo -h -N -o '%N|%P|%c|%G|%l'``; malformed lines are skipped."""
    nodes = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 5 or not parts[2].rstrip("+").isdigit():
            continue
        name, partition, cpus, gres, limit = parts
        nodes.append(NodeInfo(name, partition.rstrip("*"), partition.endswith("*"), int(cpus.rstrip("+")),
                              parse_gres_gpus(gres), limit))
    return nodes


def read_partition_nodes() -> list[NodeInfo] | None:
    """Every (node, partition) row sinfo reports, or None when sinfo is missing or fails."""
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N|%P|%c|%G|%l"], capture_output=True, text=True,
                             check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_sinfo(out.stdout) if out.returncode == 0 else None


def check_partition(request: Request, wanted: str | None, what: str, nodes: list[NodeInfo]) -> None:
    """Raise SubmitError when no set of the partition's nodes can ever run the request."""
    names = sorted({n.partition for n in nodes})
    members = [n for n in nodes if (n.partition == wanted if wanted else n.default)]
    if not members:
        if wanted:
            raise SubmitError(f"Slurm has no partition {wanted!r} (known: {', '.join(names)}); fix --partition.")
        return  # no default partition: sbatch itself names the problem
    partition = members[0].partition
    cpus, gpus = request.cpus_per_node, request.gpus_per_node
    fits = [n for n in members if n.cpus >= cpus and n.gpus >= gpus]
    if len(fits) < request.nodes:
        most_cpus, most_gpus = max(n.cpus for n in members), max(n.gpus for n in members)
        source, _, flag = request.cpus_source.rpartition("; ")
        raise SubmitError(
            f"{what} asks for {request.nodes} node(s) with {gpus} GPUs and {cpus} CPUs each ({source}), but "
            f"partition {partition} has {len(fits)} such node(s) (at most {most_cpus} CPUs and {most_gpus} GPUs per "
            f"node), so the job would pend for ever; {_fix(request, most_cpus, most_gpus, flag)}."
        )
    _check_time(request.time, partition, members[0].time_limit)


def _fix(request: Request, most_cpus: int, most_gpus: int, flag: str) -> str:
    if request.gpus_per_node > most_gpus:
        return "choose a partition with more GPUs per node (--partition) or lower trainer.n_gpus_per_node"
    if request.cpus_per_node > most_cpus:
        fitting = max(most_cpus // max(request.gpus_per_node, 1), 1)
        env = {"--cpus-per-gpu": "RMR1_CPUS_PER_GPU", "--cpus": "RMR1_CPUS"}.get(flag, flag)
        return f"pass {flag} {fitting} ({env}) or another --partition"
    return "choose a partition with more such nodes (--partition) or lower trainer.nnodes"


def _check_time(asked: str, partition: str, limit: str) -> None:
    if limit.strip().lower() in _UNLIMITED:
        return
    try:
        most = parse_time(limit)
    except ValueError:
        return  # a format this parser does not know: sbatch decides
    if parse_time(asked) > most:
        raise SubmitError(f"--time {asked} (RMR1_TIME) is above partition {partition}'s limit of {limit}; lower it "
                          f"to {limit} or less.")
