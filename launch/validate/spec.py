"""The validate spec: what the checks inside a validate job need, written beside the job's script and logs.

``launch.submit`` writes it (after every check passed) for validate mode only; ``launch.validate.rl`` (RL,
on the job's Ray cluster) and ``launch.validate.sft`` (every torchrun rank) read it. A training job
needs no spec: its script holds the whole command. It holds no secrets: the launcher refuses
secret-looking overrides and env-file keys (``infra.redaction.is_secret_name``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from infra.atomic_files import write_text_atomic
from launch.errors import LaunchError, SlurmError

SCHEMA = "launch-spec-v2"
_JUDGE = "reward.reward_model"
Backend = Literal["slurm", "local"]


@dataclass
class JobSpec:
    """One validate run of one recipe: what to check, where, against which request."""

    run_id: str
    recipe: str
    overrides: list[str]
    backend: Backend
    repo: str
    nnodes: int
    gpus_per_node: int
    log_dir: str
    output_dir: str  # trainer.default_local_dir: checkpoints of this run
    output_root: str  # the existing folder it lives under (RMR1_OUTPUT_DIR)
    report: str
    requeue: bool = True
    ray_timeout: int = 300
    min_free_gb: int | None = None
    local_gpus: int | None = None
    local_cpus: int | None = None
    ray_tmpdir: str | None = None
    schema: str = SCHEMA

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def write(self, path: Path) -> Path:
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


def nodes_of(cfg: Any) -> tuple[int, int]:
    """``(nodes, GPUs per node)`` a composed recipe needs: the trainer's, plus a standalone judge's own nodes.

    verl places a judge with ``reward.reward_model.enable_resource_pool`` on nodes of its own in the same Ray
    cluster, so the job asks for them too; Slurm asks the same GPUs on every node, so both must agree.
    """
    nodes, gpus = _whole(cfg.trainer, "trainer")
    judge = cfg.get("reward", {}).get("reward_model", {})
    if judge.get("enable") and judge.get("enable_resource_pool"):
        judge_nodes, judge_gpus = _whole(judge, _JUDGE)
        if judge_gpus != gpus:
            raise SlurmError(f"{_JUDGE}.n_gpus_per_node is {judge_gpus} but trainer.n_gpus_per_node is {gpus}; one "
                             "Slurm job asks the same GPUs on every node, so make them equal.")
        nodes += judge_nodes
    return nodes, gpus


def _whole(section: Any, prefix: str) -> tuple[int, int]:
    values = []
    for key in ("nnodes", "n_gpus_per_node"):
        raw = section.get(key)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise SlurmError(f"{prefix}.{key} is {raw!r}; pass {prefix}.{key}=N with a whole number of 1 or more.")
        values.append(raw)
    return values[0], values[1]
