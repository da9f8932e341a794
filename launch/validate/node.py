"""The per-node part of validate mode: what one node of the job must be able to do before training.

:func:`check_node` runs as a Ray task pinned to each node (``launch.validate.rl``) and returns plain
JSON: who the node is (host, Slurm node, project version and git commit), and its checks, each
``{"name", "ok", "detail"}``: the reward loads through verl's own loader and scores a right and a
wrong verdict, the data files read as parquet, the model path is a readable Hugging Face folder (and so
is the reward model's, when verl serves a judge or scalar RM), and the checkpoint folder is writable with
enough free disk. It never raises: a failure is data.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.run_metadata import git_commit
from infra.versions import version_of

PROJECT = "rm-r1-recipe"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")


def check_node(request: dict[str, Any]) -> dict[str, Any]:
    """Identity and checks of the node this runs on; ``request`` is built by ``launch.validate.rl.node_request``."""
    checks = [
        run_check("reward", _reward, request),
        run_check("data", _data, request),
        run_check("model", _model, request),
        *([run_check("reward_model", _reward_model, request)] if request.get("reward_model") else []),
        run_check("checkpoint_disk", _disk, request),
    ]
    return {
        "hostname": socket.gethostname(),
        "slurm_node": os.environ.get("SLURMD_NODENAME"),
        "ray_node_id": _ray_node_id(),
        "python": sys.executable,
        "project_version": version_of(PROJECT),
        "git_commit": git_commit(request["repo"]),
        "verl_version": version_of("verl"),
        "ray_version": version_of("ray"),
        "checks": checks,
        "ok": all(c["ok"] for c in checks),
    }


def run_check(name: str, check: Callable[[dict[str, Any]], str], request: dict[str, Any]) -> dict[str, Any]:
    """One named check of a node as a report entry; its failure is recorded, never raised."""
    try:
        return {"name": name, "ok": True, "detail": check(request)}
    except Exception as err:  # one failed check must not hide the others
        return {"name": name, "ok": False, "detail": f"{type(err).__name__}: {err}"}


def _reward(request: dict[str, Any]) -> str:
    """Load the reward with verl's get_custom_reward_fn and score a right and a wrong verdict."""
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    from reward_fns import format_verdict

    section = request["reward"]
    fn = get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": section}}))
    if fn is None:  # the config check allows this only with a reward model (verl's discriminative path)
        return "no custom reward function: verl scores with the reward model's classifier"
    if inspect.iscoroutinefunction(fn):  # the judge reward: it needs the served judge, started with the run
        return f"{section['path']}:{section['name']} loaded by verl (async; it asks the served judge at run time)"
    trace = "Both answers were compared on the rubric. " + format_verdict("A")
    right, wrong = (
        _score(fn(data_source="launch_validate", solution_str=trace, ground_truth=label, extra_info={}))
        for label in ("A", "B")
    )
    if not right > wrong:
        raise ValueError(f"a right verdict scored {right} and a wrong one {wrong}; the reward must prefer right")
    return f"{section['path']}:{section['name']} loaded by verl; right verdict {right:+g}, wrong {wrong:+g}"


def _score(result: Any) -> float:
    return float(result["score"] if isinstance(result, dict) else result)


def _data(request: dict[str, Any]) -> str:
    import pyarrow.parquet as pq

    parts = []
    for path in request["train_files"] + request["val_files"]:
        with open(path, "rb") as handle:  # the read permission, not only the directory entry
            handle.read(4)
        parts.append(f"{Path(path).name} {pq.ParquetFile(path).metadata.num_rows} rows")
    return f"{', '.join(parts)} readable"


def _model(request: dict[str, Any]) -> str:
    model = request["model"]
    if request["model_is_hub_id"]:
        return f"hub id {model}: each node downloads it at start (not checked here)"
    config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    tokenizer = [f for f in TOKENIZER_FILES if (Path(model) / f).is_file()]
    if not tokenizer:
        raise FileNotFoundError(f"{model} has no tokenizer file ({', '.join(TOKENIZER_FILES)})")
    arch = ",".join(config.get("architectures") or ["?"])
    return f"{model}: {config.get('model_type')} ({arch}), tokenizer {', '.join(tokenizer)}"


def _reward_model(request: dict[str, Any]) -> str:
    """The judge or scalar RM verl serves (reward.reward_model.model_path), checked like the policy model."""
    return _model({"model": request["reward_model"], "model_is_hub_id": request["reward_model_is_hub_id"]})


def _disk(request: dict[str, Any]) -> str:
    """The output folder is writable here and its filesystem has the free space the plan needs."""
    root = Path(request["output_root"])
    with tempfile.NamedTemporaryFile(dir=root, prefix=".launch-validate-"):
        pass
    target = _nearest_existing(Path(request["checkpoint_dir"]))
    free_gb = shutil.disk_usage(target).free / 1e9
    need = request["min_free_gb"]
    if free_gb < need:
        raise OSError(
            f"{free_gb:.0f} GB free at {target} but {need} GB needed ({request['need_source']}); "
            "free space, lower trainer.max_actor_ckpt_to_keep or point RMR1_OUTPUT_DIR elsewhere"
        )
    return f"{root} writable; {free_gb:.0f} GB free at {target}, {need} GB needed ({request['need_source']})"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _ray_node_id() -> str | None:
    if "ray" not in sys.modules:
        return None
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
