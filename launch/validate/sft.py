"""Validate mode for SFT recipes: run under torchrun on every node (one process each), CPU and gloo.

    torchrun --nnodes N --nproc-per-node 1 --node-rank I ... -m launch.validate.sft --spec SPEC.json
    (the SFT validate job script's command on every node; never by hand)

Every rank joins the same ``torch.distributed`` rendezvous the trainer will use (gloo, so no GPU is
touched), proves it with an all-reduce, then checks its own node: the train data loads through
verl's ``MultiTurnSFTDataset`` with the run's tokenizer (a ``messages`` column, rows within
``data.max_length``), the model path is a readable Hugging Face folder, the checkpoint folder is
writable with enough free disk. Rank 0 gathers every node's result, runs the recipe checks and
writes the same ``launch-validate-v1`` report as the RL validate mode (launch.validate.rl), so the
launcher prints it the same way. Exit 0 only when everything passed, on every rank.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from infra.atomic_files import write_text_atomic
from infra.run_metadata import git_commit
from launch.checks.inputs import is_hub_id
from launch.validate.node import PROJECT, TOKENIZER_FILES, run_check, version_of
from launch.validate.spec import JobSpec

SAMPLE_ROWS = 8  # rows tokenised per node: enough to catch a wrong column or template, cheap on CPU


@dataclass(frozen=True)
class Rendezvous:
    """What the process group saw: ranks, distinct nodes, and the GPUs Slurm granted on them."""

    nodes: int
    gpus: int
    cpus: int


def slurm_gpus() -> int:
    """GPUs Slurm granted this node (``SLURM_GPUS_ON_NODE``; placeholders count, nothing touches them)."""
    value = os.environ.get("SLURM_GPUS_ON_NODE") or os.environ.get("SLURM_GPUS_PER_NODE") or "0"
    # "8", "h100:8" or "a100:2,v100:2" (summed); "gpu:8(IDX:0-7)" in some versions
    counts = [item.split("(", 1)[0].rsplit(":", 1)[-1] for item in value.split(",")]
    return sum(int(c) for c in counts if c.isdigit())


def node_checks(spec: JobSpec, cfg: Any) -> dict[str, Any]:
    """This node's identity and checks (never raises: a failure is data)."""
    from recipes.compose import safe_select

    request = {
        "train_files": _list(safe_select(cfg, "data.train_files")),
        "val_files": _list(safe_select(cfg, "data.val_files")),
        "model": str(safe_select(cfg, "model.path")),
        "checkpoint_dir": spec.output_dir,
        "output_root": spec.output_root,
        "min_free_gb": spec.min_free_gb or 0,
        "data": cfg.data,
    }
    checks = [run_check(name, check, request) for name, check in (("data", _data), ("model", _model),
                                                                  ("checkpoint_disk", _disk))]
    return {
        "hostname": socket.gethostname(),
        "slurm_node": os.environ.get("SLURMD_NODENAME"),
        "ray_node_id": None,
        "python": sys.executable,
        "project_version": version_of(PROJECT),
        "git_commit": git_commit(spec.repo),
        "verl_version": version_of("verl"),
        "torch_version": version_of("torch"),
        "gpus": slurm_gpus() if spec.backend == "slurm" else (spec.local_gpus or 0),  # --local: as declared
        "cpus": os.cpu_count() or 0,
        "checks": checks,
        "ok": all(c["ok"] for c in checks),
    }


def _data(request: dict[str, Any]) -> str:
    """The train (and val) files load through verl's MultiTurnSFTDataset; a few rows tokenise within max_length."""
    import pyarrow.parquet as pq

    model = request["model"]
    parts = []
    for path in request["train_files"] + request["val_files"]:
        columns = pq.ParquetFile(path).schema_arrow.names
        if request["data"].get("messages_key", "messages") not in columns:
            raise ValueError(f"{path} has no messages column (columns {', '.join(columns)}); build SFT data with "
                             "the distillation step")
        parts.append(f"{Path(path).name} {pq.ParquetFile(path).metadata.num_rows} rows")
    if is_hub_id(model):
        return f"{', '.join(parts)} with a messages column; not tokenised (hub model {model} is not local)"
    from verl.utils import hf_tokenizer
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    dataset = MultiTurnSFTDataset(parquet_files=request["train_files"], tokenizer=hf_tokenizer(model),
                                  config=request["data"], processor=None, max_samples=SAMPLE_ROWS)
    lengths = [int(dataset[i]["input_ids"].shape[-1]) for i in range(len(dataset))]
    return (f"{', '.join(parts)}; MultiTurnSFTDataset tokenised {len(lengths)} row(s), longest {max(lengths)} "
            f"of max_length {request['data'].max_length} tokens")


def _model(request: dict[str, Any]) -> str:
    model = request["model"]
    if is_hub_id(model):
        return f"hub id {model}: each node downloads it at start (not checked here)"
    config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    tokenizer = [f for f in TOKENIZER_FILES if (Path(model) / f).is_file()]
    if not tokenizer:
        raise FileNotFoundError(f"{model} has no tokenizer file ({', '.join(TOKENIZER_FILES)})")
    if not config.get("architectures"):
        raise ValueError(f"{model}/config.json has no architectures; the export step needs them")
    return f"{model}: {config.get('model_type')} ({','.join(config['architectures'])}), tokenizer {tokenizer[0]}"


def _disk(request: dict[str, Any]) -> str:
    root = Path(request["output_root"])
    with tempfile.NamedTemporaryFile(dir=root, prefix=".launch-validate-"):
        pass
    target = Path(request["checkpoint_dir"])
    while not target.exists() and target != target.parent:
        target = target.parent
    free_gb, need = shutil.disk_usage(target).free / 1e9, request["min_free_gb"]
    if free_gb < need:
        raise OSError(f"{free_gb:.0f} GB free at {target} but {need} GB needed (RMR1_MIN_FREE_GB or the plan); "
                      "free space, lower trainer.max_ckpt_to_keep or point RMR1_OUTPUT_DIR elsewhere")
    return f"{root} writable; {free_gb:.0f} GB free at {target}, {need} GB needed"


def rendezvous(nodes: list[dict[str, Any]]) -> Rendezvous:
    """Distinct nodes in the gathered results (by Slurm node, else hostname) and their GPUs and CPUs."""
    by_node: dict[str, dict[str, Any]] = {}
    for node in nodes:
        by_node.setdefault(str(node.get("slurm_node") or node.get("hostname")), node)
    return Rendezvous(nodes=len(by_node), gpus=sum(int(n.get("gpus") or 0) for n in by_node.values()),
                      cpus=sum(int(n.get("cpus") or 0) for n in by_node.values()))


def sft_problems(spec: JobSpec, cfg: Any) -> list[str]:
    """Launcher-level checks of an SFT recipe: resources as submitted, resume on requeue."""
    problems = []
    nodes, gpus = int(cfg.trainer.nnodes), int(cfg.trainer.n_gpus_per_node)
    if (nodes, gpus) != (spec.nnodes, spec.gpus_per_node):
        problems.append(f"the recipe now declares {nodes}x{gpus} GPUs but the job was submitted for "
                        f"{spec.nnodes}x{spec.gpus_per_node}; resubmit.")
    if spec.requeue and cfg.trainer.resume_mode != "auto":
        problems.append(f"trainer.resume_mode is {cfg.trainer.resume_mode!r}, so a requeued job would restart "
                        "from step 0; use auto or submit with RMR1_REQUEUE=0.")
    return problems


def run(spec: JobSpec) -> int:
    """This rank's part: join, check, gather; rank 0 writes the report. Returns the shared exit code."""
    import torch
    import torch.distributed as dist

    from launch.validate.rl import assemble, summary
    from recipes.compose import Composed, RecipeError, compose_recipe
    from recipes.validate import Report, check_composed

    dist.init_process_group("gloo", timeout=timedelta(seconds=spec.ray_timeout))
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        ones = torch.ones(1)
        dist.all_reduce(ones)  # a real collective over every node, not only the rendezvous store
        problems, recipe = [], Report(spec.recipe, list(spec.overrides))
        composed: Composed | None
        mine: dict[str, Any]
        try:
            composed = compose_recipe(spec.recipe, list(spec.overrides))
        except RecipeError as err:
            composed, mine = None, {"hostname": socket.gethostname(), "ok": False, "checks": [
                {"name": "recipe", "ok": False, "detail": str(err)}]}
            problems.append(str(err))
        else:
            mine = node_checks(spec, composed.cfg)  # composed is set: the try did not raise
        mine["checks"].insert(0, {"name": "rendezvous", "ok": int(ones.item()) == world,
                                  "detail": f"rank {rank} of {world}; gloo all_reduce summed {int(ones.item())}"})
        mine["ok"] = mine["ok"] and mine["checks"][0]["ok"]
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, mine)
        verdict = torch.zeros(1)
        if rank == 0:
            if composed is not None:
                recipe = check_composed(composed)
                problems += sft_problems(spec, composed.cfg)
            state = rendezvous(gathered)
            report = assemble(spec, state, gathered, recipe.to_dict(), problems)
            report["rendezvous"] = {"world_size": world, "backend": "gloo"}
            path = Path(spec.report or Path(spec.log_dir) / f"validate-{spec.run_id}.json")
            write_text_atomic(path, json.dumps(report, indent=2) + "\n")
            print(summary(report), flush=True)
            print(f"report: {path}", flush=True)
            verdict += 0 if report["ok"] else 1
        dist.broadcast(verdict, src=0)
        return int(verdict.item())
    finally:
        dist.destroy_process_group()


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.validate.sft", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True, help="the job spec launch.submit wrote")
    args = parser.parse_args(argv)
    start = time.monotonic()
    code = run(JobSpec.read(args.spec))
    print(f"[sft validate] rank {os.environ.get('RANK', '?')} done in {time.monotonic() - start:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
