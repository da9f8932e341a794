"""Per-size facts the plan and the memory check use (docs/verl_perf.md; arithmetic, not measurements).

A recipe's size is its ``size`` (GRPO) or ``sft_size`` (SFT) config-group choice, so the yaml stays the
single place that says which size a model is; nothing is guessed from a model name.
"""

from __future__ import annotations

from dataclasses import dataclass

# One GPU of the target cluster (8 x H100 80 GB nodes).
GPU_GB = 80.0
# fp32 master weights (4) + gradients (4) + Adam moments (8), sharded over all GPUs (docs/verl_perf.md).
TRAIN_STATE_BYTES_PER_PARAM = 16
# A checkpoint holds fp32 model shards (4) + Adam moments (8): 12 B/param, i.e. ~92 GB for 7.6B params.
CKPT_BYTES_PER_PARAM = 12


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
