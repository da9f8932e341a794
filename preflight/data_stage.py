"""Preflight stage for data prep: build both variants from the bundled samples and load them with verl.

It builds the tiny test model (no downloads), builds ``instruct`` and ``reasoning`` data with the
tiny tokenizer's length filter, loads every RL parquet through verl's own ``RLHFDataset``
(``filter_overlong_prompts`` on, as in training) and an SFT parquet of scripted Chain-of-Rubrics
traces through ``MultiTurnSFTDataset``, and checks the loss covers only the assistant turn.
:func:`build_samples` is also what the launcher's tests and stage use to get sample data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from data_prep.adapters import InputSpec
from data_prep.pipeline import BuildOptions, BuildResult, VariantBuild, build
from data_prep.prompts import VARIANTS
from testkit.tiny_model import ensure_tiny_model
from testkit.verl_datasets import (
    assistant_only_loss,
    datasets_cache_in,
    verl_rl_dataset,
    verl_sft_dataset,
    write_scripted_sft,
)

SAMPLES = Path(__file__).resolve().parent / "samples" / "pairs.jsonl"
PREFLIGHT_MAX_PROMPT_LENGTH = 4096  # the paper's data.max_prompt_length
PREFLIGHT_SFT_MAX_LENGTH = 8192


def build_samples(work_dir: Path, tokenizer_dir: Path | None, progress: bool = False) -> BuildResult:
    """Both variants from the bundled samples into ``work_dir/data`` (length-filtered if a tokenizer is given)."""
    return build(BuildOptions(
        inputs=(InputSpec(os.fspath(SAMPLES)),),
        out=work_dir / "data",
        variants=VARIANTS,
        val_size=0.2,
        distill_fraction=0.2,
        seed=0,
        tokenizer=os.fspath(tokenizer_dir) if tokenizer_dir else None,
        max_prompt_length=PREFLIGHT_MAX_PROMPT_LENGTH if tokenizer_dir else None,
        progress=progress,
    ))


def run_stage(work_dir: Path) -> str:
    """Build both variants from the samples, load them through verl, return a one-line summary.

    Everything is written under ``work_dir`` (the tiny model, the data, SFT files, the datasets cache).
    """
    from transformers import AutoTokenizer

    work_dir = Path(work_dir)
    model_dir = ensure_tiny_model(work_dir / "tiny_model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    result = build_samples(work_dir, model_dir)
    with datasets_cache_in(work_dir / "datasets_cache"):
        parts = [_check_variant(built, tokenizer, work_dir) for built in result.variants.values()]
    return (f"data_prep: built {'; '.join(parts)} from {sum(result.input_pairs.values())} sample pairs; "
            "verl RLHFDataset (filter_overlong_prompts) kept every row, MultiTurnSFTDataset trains on the reply only")


def _check_variant(built: VariantBuild, tokenizer: Any, work_dir: Path) -> str:
    """Load one variant's files through verl (raising on any loss); return its part of the summary."""
    import pyarrow.parquet as pq

    for split, path in built.files.items():
        dataset = verl_rl_dataset([path], tokenizer, PREFLIGHT_MAX_PROMPT_LENGTH)
        if len(dataset) != built.rows[split]:
            raise RuntimeError(f"verl's RLHFDataset kept {len(dataset)} of {built.rows[split]} rows of {path}.")
    sft_path = write_scripted_sft(built.files["distill"], work_dir / "sft" / f"{built.variant}.parquet")
    sft = verl_sft_dataset([sft_path], tokenizer, PREFLIGHT_SFT_MAX_LENGTH)
    first = pq.read_table(sft_path).to_pylist()[0]["messages"][-1]["content"]
    if len(sft) != built.rows["distill"] or not assistant_only_loss(sft[0], tokenizer, first):
        raise RuntimeError(f"verl's MultiTurnSFTDataset did not load {sft_path} with loss on the reply only.")
    rows = "/".join(str(n) for n in built.rows.values())
    return f"{built.variant} {rows} ({'/'.join(built.rows)}, prompt {built.prompt_version})"
