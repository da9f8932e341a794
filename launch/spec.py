"""The job spec: everything a submitted job needs, resolved at submit time and written as JSON.

``launch.submit`` writes it into the run's log folder (after every check passed) and passes its path to
``launch/job.sbatch``; ``launch.job`` reads it on the first node (and again after every requeue). It
holds no secrets: the launcher refuses secret-looking overrides and env-file keys
(``infra.redaction.is_secret_name``), and the WANDB key travels in the environment (``--export=ALL``).
Import-light (stdlib and ``infra.atomic_files``): the orchestrator that reads it may run on a node's
system Python when the work runs in a container.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from infra.atomic_files import write_text_atomic
from launch.errors import LaunchError

SCHEMA = "launch-spec-v1"
Mode = Literal["train", "validate"]
Backend = Literal["slurm", "local"]


@dataclass
class JobSpec:
    """One launch of one recipe: what to run, where, with which cluster settings."""

    run_id: str
    recipe: str
    overrides: list[str]
    mode: Mode
    backend: Backend
    repo: str
    python: str
    nnodes: int
    gpus_per_node: int
    log_dir: str
    output_dir: str  # trainer.default_local_dir: checkpoints of this run
    output_root: str  # the existing folder it lives under (RMR1_OUTPUT_DIR)
    driver_module: str = "verl.trainer.main_ppo"
    report: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    requeue: bool = True
    max_requeues: int = 20
    ray_num_cpus: int | None = None
    ray_tmpdir: str | None = None
    ray_timeout: int = 300
    ray_node_ip: str | None = None  # 127.0.0.1 for --local (a one-node cluster on loopback); None: Ray's detection
    container_image: str | None = None
    container_mounts: str | None = None
    srun_args: list[str] = field(default_factory=list)
    min_free_gb: int | None = None
    local_gpus: int | None = None
    kind: str = "rl"  # recipes.compose kind: "sft" runs torchrun per node (launch.torchrun_job), no Ray
    schema: str = SCHEMA

    @property
    def config_dir(self) -> str:
        return str(Path(self.repo) / "recipes")

    def driver_overrides(self) -> list[str]:
        """The user's overrides plus ``trainer.resume_mode=auto`` when the job may be requeued."""
        extra = []
        if self.requeue and not any(o.lstrip("+~").startswith("trainer.resume_mode=") for o in self.overrides):
            extra.append("trainer.resume_mode=auto")
        return [*self.overrides, *extra]

    def driver_argv(self) -> list[str]:
        """The verl driver command run on the head node, attached to the job's Ray cluster (RAY_ADDRESS)."""
        return [
            self.python,
            "-m",
            self.driver_module,
            "--config-path",
            self.config_dir,
            "--config-name",
            self.recipe,
            *self.driver_overrides(),
        ]

    def node_command(self, module: str, *args: str) -> list[str]:
        """``python -m module args`` wrapped by ``launch/node_env.sh`` (module loads, setup script)."""
        return ["bash", str(Path(self.repo) / "launch" / "node_env.sh"), self.python, "-m", module, *args]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def write(self, path: Path) -> Path:
        """Write atomically (a requeued job re-reads it)."""
        return write_text_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> JobSpec:
        """Load a spec; raises LaunchError naming the file when it is not one."""
        try:
            data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise LaunchError(f"job spec {path} cannot be read ({err}); resubmit with the launcher.") from err
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            data = data if isinstance(data, dict) else {}
            raise LaunchError(f"job spec {path} has schema {data.get('schema')!r}, not {SCHEMA!r}; resubmit.")
        return cls(**data)
