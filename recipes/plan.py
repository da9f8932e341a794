"""The plan printout: what a recipe will ask of the cluster and the disk, before any GPU is spent.

Per-size facts come from docs/verl_perf.md (arithmetic, not measurements). A recipe's size is its
``size`` (GRPO) or ``sft_size`` (SFT) config-group choice, so the yaml stays the single place that says
which size a model is; nothing is guessed from a model name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recipes.compose import MISSING, Composed, safe_select
from recipes.manifest import Manifest, recipe_variant

# One GPU of the target cluster (8 x H100 80 GB nodes).
GPU_GB = 80.0
# fp32 master weights (4) + gradients (4) + Adam moments (8), sharded over all GPUs (docs/verl_perf.md).
TRAIN_STATE_BYTES_PER_PARAM = 16

# Pairs assumed when no manifest gives the count (docs/rm_r1_method.md, "Training data").
ASSUMED_PAIRS = {
    ("rl", "instruct"): (64_000, "the paper's ~64K RL pairs left after the distillation split"),
    ("rl", "reasoning"): (73_000, "the paper's full ~73K mix"),
    ("sft", "instruct"): (8_700, "the paper's ~8.7K distillation traces"),
}
# The data builders' default validation share (build_parquet.py and distill.py --val-size 0.02): those
# pairs never reach train.parquet, so an epoch of paper-sized data is 2% shorter than the pair count.
DEFAULT_VAL_SHARE = 0.02


@dataclass(frozen=True)
class SizeClass:
    """Facts about one size class of dense Qwen2-architecture models."""

    name: str
    params_b: float
    ckpt_gb: int
    hf_gb: int


SIZES: dict[str, SizeClass] = {
    # docs/verl_perf.md: per checkpoint (model + optimizer + extra) 92 / 177 / 393 GB; hf_model +15 / 30 / 65 GB.
    "7b": SizeClass("7b", 7.6, 92, 15),
    "14b": SizeClass("14b", 14.8, 177, 30),
    "32b": SizeClass("32b", 32.8, 393, 65),
}


def size_of(choices: dict[str, str]) -> SizeClass | None:
    """The size class a composed recipe chose (``size`` or ``sft_size`` group), or None if unknown."""
    name = choices.get("size") or choices.get("sft_size")
    return SIZES.get(name or "")


def assumed_train_rows(kind: str, variant: str | None) -> tuple[int, str]:
    """Train rows of paper-sized data built with the default validation share, and where the number comes from."""
    pairs, why = ASSUMED_PAIRS.get((kind, variant or ""), (0, ""))
    if not pairs:
        return 0, "unknown: pass --manifest"
    rows = round(pairs * (1 - DEFAULT_VAL_SHARE))
    return rows, f"{why}, minus the builder's {DEFAULT_VAL_SHARE:.0%} validation split"


@dataclass(frozen=True)
class Plan:
    """Numbers the printout shows; ``None`` where a number cannot be known without more input."""

    recipe: str
    kind: str
    variant: str | None
    size: str | None
    model: str
    train_files: str
    nnodes: int
    gpus_per_node: int
    lr: float
    prompts_per_step: int
    samples_per_prompt: int
    max_prompt_tokens: int
    max_new_tokens: int
    train_rows: int
    rows_source: str
    steps_per_epoch: int
    epochs: int
    save_freq: int
    keep: int | None
    ckpt_gb: int | None
    ckpt_contents: str
    output_dir: str
    tensor_parallel: int | None = None
    gpu_memory_utilization: float | None = None
    mini_batch: int | None = None
    test_freq: int | None = None
    val_before_train: bool = False

    @property
    def gpus(self) -> int:
        return self.nnodes * self.gpus_per_node

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def saves(self) -> int:
        """verl saves every ``save_freq`` steps and at the last step (SFT: the last step even without save_freq)."""
        if self.save_freq <= 0:
            return 1 if self.kind == "sft" else 0
        return self.total_steps // self.save_freq + (1 if self.total_steps % self.save_freq else 0)

    @property
    def disk_gb(self) -> int | None:
        if self.ckpt_gb is None:
            return None
        return self.ckpt_gb * (min(self.saves, self.keep) if self.keep else self.saves)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form, derived numbers included."""
        derived = {k: getattr(self, k) for k in ("gpus", "total_steps", "saves", "disk_gb")}
        return asdict(self) | derived


def make_plan(composed: Composed, manifest: Manifest | None = None) -> Plan:
    """Compute the plan of a composed recipe; the manifest supplies the real train-row count when given."""
    cfg, kind = composed.cfg, composed.kind
    variant = recipe_variant(composed)
    rows, source = assumed_train_rows(kind, variant)
    source = f"assumed: {source}; pass --manifest for the real count"
    if manifest is not None and manifest.train_rows is not None:
        rows, source = manifest.train_rows, f"from {manifest.path}"
    size = size_of(composed.choices)
    arr = cfg.actor_rollout_ref if kind == "rl" else None
    contents = list((arr.actor.checkpoint if arr is not None else cfg.checkpoint).save_contents)
    train = cfg.data.train_files
    common: dict[str, Any] = dict(
        recipe=composed.name,
        kind=kind,
        variant=variant,
        size=size.name if size else None,
        train_files=str(train if isinstance(train, str) else ",".join(train)),
        nnodes=cfg.trainer.nnodes,
        gpus_per_node=cfg.trainer.n_gpus_per_node,
        prompts_per_step=cfg.data.train_batch_size,
        train_rows=rows,
        rows_source=source,
        steps_per_epoch=rows // cfg.data.train_batch_size,
        epochs=cfg.trainer.total_epochs,
        save_freq=cfg.trainer.save_freq,
        # docs/verl_perf.md's per-checkpoint size for model + optimizer + extra, plus the HF copy when saved
        ckpt_gb=size.ckpt_gb + (size.hf_gb if "hf_model" in contents else 0) if size else None,
        ckpt_contents=" + ".join(contents),
        output_dir=str(cfg.trainer.default_local_dir),
    )
    if arr is not None:
        return Plan(
            **common,
            model=_text(arr.model, "path"),
            lr=arr.actor.optim.lr,
            samples_per_prompt=arr.rollout.n,
            max_prompt_tokens=cfg.data.max_prompt_length,
            max_new_tokens=cfg.data.max_response_length,
            keep=cfg.trainer.max_actor_ckpt_to_keep,
            tensor_parallel=arr.rollout.tensor_model_parallel_size,
            gpu_memory_utilization=arr.rollout.gpu_memory_utilization,
            mini_batch=arr.actor.ppo_mini_batch_size,
            test_freq=cfg.trainer.test_freq,
            val_before_train=cfg.trainer.val_before_train,
        )
    return Plan(**common, model=_text(cfg.model, "path"), lr=cfg.optim.lr, samples_per_prompt=1, max_prompt_tokens=0,
                max_new_tokens=cfg.data.max_length, keep=cfg.trainer.max_ckpt_to_keep)


def _text(node: Any, key: str) -> str:
    value = safe_select(node, key)
    return "<required>" if value in (None, MISSING) else str(value)


def format_plan(plan: Plan) -> str:
    """The human-readable plan, one fact per line."""
    what = "GRPO" if plan.kind == "rl" else "SFT"
    lines = [
        f"recipe        {plan.recipe} ({what}, variant {plan.variant}, size {plan.size or 'unknown'})",
        f"model         {plan.model}",
        f"train data    {plan.train_files}",
        f"cluster       {plan.nnodes} node(s) x {plan.gpus_per_node} GPUs = {plan.gpus} GPUs",
        f"lr            {plan.lr:g}",
    ]
    lines += _rl_lines(plan) if plan.kind == "rl" else _sft_lines(plan)
    lines += [
        f"train rows    {plan.train_rows:,} ({plan.rows_source})",
        f"steps         {plan.steps_per_epoch} per epoch x {plan.epochs} epoch(s) = {plan.total_steps}",
    ]
    if plan.test_freq is not None:
        before = "before step 1, " if plan.val_before_train else ""
        lines.append(f"validation    {before}every {plan.test_freq} steps and at the last step, greedy")
    lines += [_ckpt_line(plan), f"output        {plan.output_dir}"]
    return "\n".join(lines)


def _rl_lines(plan: Plan) -> list[str]:
    rollouts = plan.prompts_per_step * plan.samples_per_prompt
    replicas = plan.gpus // plan.tensor_parallel if plan.tensor_parallel else 0
    updates = plan.prompts_per_step // plan.mini_batch if plan.mini_batch else 0
    generated = rollouts * plan.max_new_tokens
    total = rollouts * (plan.max_prompt_tokens + plan.max_new_tokens)
    return [
        f"rollout       vLLM TP {plan.tensor_parallel} -> {replicas} replicas, "
        f"gpu_memory_utilization {plan.gpu_memory_utilization:g}",
        f"batch         {plan.prompts_per_step:,} prompts x n={plan.samples_per_prompt} = {rollouts:,} rollouts/step, "
        f"{updates} updates of {plan.mini_batch} prompts",
        f"tokens/step   <= {generated:,} generated ({rollouts:,} x {plan.max_new_tokens:,}); "
        f"<= {total:,} prompt + response",
    ]


def _sft_lines(plan: Plan) -> list[str]:
    tokens = plan.prompts_per_step * plan.max_new_tokens
    return [f"tokens/step   <= {tokens:,} trained ({plan.prompts_per_step} rows x {plan.max_new_tokens:,} max length)"]


def _ckpt_line(plan: Plan) -> str:
    saves = f"{plan.saves} saves (every {plan.save_freq} steps + last)"
    if plan.ckpt_gb is None:
        return f"checkpoints   {saves}; size unknown (no size class)"
    kept = min(plan.saves, plan.keep) if plan.keep else plan.saves
    return (
        f"checkpoints   {saves}; ~{plan.ckpt_gb} GB each ({plan.ckpt_contents}), "
        f"{kept} kept -> ~{plan.disk_gb:,} GB on disk"
    )
