"""The one resource model: what every job the project submits asks of Slurm, as ``#SBATCH`` lines.

RL, SFT, validate, cluster eval and the pipeline's CPU stages (data, distillation, export) all build a
:class:`Request` here from the same cluster settings (``--partition``, ``--account``, ``--qos``,
``--time``, ``--mem``, ``--sbatch-args``), so a flag reaches every stage, and ``launch.checks.partition``
checks every request against the partition before anything is submitted or written. GPU jobs ask
``GPUs per node x --cpus-per-gpu`` CPUs per node; CPU jobs ask ``--cpus``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from launch.errors import SlurmError
from launch.settings import Settings, split_words

# sbatch --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_TIME = re.compile(r"^(?:(?P<d>\d+)-)?(?P<rest>\d+(?::\d+){0,2})$")


@dataclass(frozen=True)
class Request:
    """One job's request: resources, limits and where Slurm writes its log."""

    name: str
    nodes: int
    gpus_per_node: int
    cpus_per_node: int
    cpus_source: str  # how the CPU count was reached, for the partition check's sentence
    time: str
    log: str
    requeue_signal: int | None = None  # seconds before the limit at which the batch shell gets SIGUSR1
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = None
    extra: list[str] = field(default_factory=list)

    def sbatch_lines(self) -> str:
        """The ``#SBATCH`` block of the job script."""
        args = [f"--job-name={self.name}", f"--nodes={self.nodes}", "--ntasks-per-node=1",
                f"--cpus-per-task={self.cpus_per_node}"]
        if self.gpus_per_node:
            args.append(f"--gpus-per-node={self.gpus_per_node}")
        args += [f"--time={self.time}", f"--output={self.log}", "--open-mode=append"]  # a requeue appends
        if self.requeue_signal:
            args += ["--requeue", f"--signal=B:USR1@{self.requeue_signal}"]
        else:
            args.append("--no-requeue")
        for flag, value in (("partition", self.partition), ("account", self.account), ("qos", self.qos),
                            ("mem", self.mem)):
            if value:
                args.append(f"--{flag}={value}")
        return "\n".join(f"#SBATCH {shlex.quote(a)}" for a in [*args, *self.extra])


def make_request(settings: Settings, name: str, nodes: int, gpus_per_node: int, log_dir: Path,
                 requeue: bool = False, mem: str | None = None) -> Request:
    """The request for a job of ``nodes`` x ``gpus_per_node`` GPUs (0: a CPU job) under the cluster settings."""
    limit = settings.get("RMR1_TIME") or ""
    parse_time(limit)  # a bad or zero limit is refused here, before anything is written
    if gpus_per_node:
        per_gpu = settings.integer("RMR1_CPUS_PER_GPU") or 1
        cpus = gpus_per_node * per_gpu
        source = (f"{gpus_per_node} GPUs x RMR1_CPUS_PER_GPU={per_gpu}, {settings.source('RMR1_CPUS_PER_GPU')}; "
                  f"--cpus-per-gpu")
    else:
        cpus = settings.integer("RMR1_CPUS") or 1
        source = f"RMR1_CPUS={cpus}, {settings.source('RMR1_CPUS')}; --cpus"
    return Request(
        name=name, nodes=nodes, gpus_per_node=gpus_per_node, cpus_per_node=cpus, cpus_source=source, time=limit,
        log=str(log_dir / "%x-%j.log"), requeue_signal=signal_seconds(settings) if requeue else None,
        partition=settings.get("RMR1_PARTITION"), account=settings.get("RMR1_ACCOUNT"), qos=settings.get("RMR1_QOS"),
        mem=mem or settings.get("RMR1_MEM"), extra=split_words("--sbatch-args", settings.get("RMR1_SBATCH_ARGS")),
    )


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


def signal_seconds(settings: Settings) -> int:
    """Seconds before the limit at which the job requeues itself; must leave the job some run time."""
    seconds = settings.integer("RMR1_SIGNAL_SECONDS") or 0
    limit = parse_time(settings.get("RMR1_TIME") or "")
    if not 0 < seconds < limit:
        raise SlurmError(
            f"RMR1_SIGNAL_SECONDS={seconds} must be above 0 and below the time limit of {limit} s "
            f"(RMR1_TIME={settings.get('RMR1_TIME')}); lower it or raise the time limit."
        )
    return seconds
