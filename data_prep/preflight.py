"""Preflight stage for data prep: build both variants from the bundled samples and load them with verl.

``launch/preflight.py`` calls :func:`run_stage`. It builds the tiny test model (no downloads), builds
``instruct`` and ``reasoning`` data with the tiny tokenizer's length filter, loads every RL parquet
through verl's own ``RLHFDataset`` (``filter_overlong_prompts`` on, as in training) and an SFT parquet
of scripted Chain-of-Rubrics traces through ``MultiTurnSFTDataset``, and checks the loss covers only
the assistant turn. verl is imported only inside these functions: it takes seconds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.adapters import InputSpec
from data_prep.cor_parser import Evidence, compose_cor
from data_prep.pipeline import BuildOptions, BuildResult, VariantBuild, build
from data_prep.prompts import VARIANTS, extract_candidates
from data_prep.writers import sft_row, write_parquet

SAMPLES = Path(__file__).resolve().parent / "samples" / "pairs.jsonl"
PREFLIGHT_MAX_PROMPT_LENGTH = 4096  # the paper's data.max_prompt_length
PREFLIGHT_SFT_MAX_LENGTH = 8192


@contextlib.contextmanager
def datasets_cache_in(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Point the ``datasets`` cache (which ``RLHFDataset`` fills on every load) at ``folder`` meanwhile.

    Keeps checks from leaving Arrow caches of throwaway parquet files in the user's home.
    """
    import datasets.config

    before = datasets.config.HF_DATASETS_CACHE
    datasets.config.HF_DATASETS_CACHE = Path(folder)
    try:
        yield Path(folder)
    finally:
        datasets.config.HF_DATASETS_CACHE = before


def verl_rl_dataset(
    files: Sequence[str | os.PathLike[str]],
    tokenizer: Any,
    max_prompt_length: int,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """verl's ``RLHFDataset`` over ``files``, configured as the trainer does with overlong filtering on."""
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    config = OmegaConf.create({
        "prompt_key": "prompt",
        "max_prompt_length": max_prompt_length,
        "filter_overlong_prompts": True,
        "filter_overlong_prompts_workers": 1,
        "truncation": "error",
        "apply_chat_template_kwargs": dict(chat_template_kwargs or {}),
    })
    return RLHFDataset(data_files=[os.fspath(f) for f in files], tokenizer=tokenizer, config=config)


def verl_sft_dataset(files: Sequence[str | os.PathLike[str]], tokenizer: Any, max_length: int) -> Any:
    """verl's ``MultiTurnSFTDataset`` over ``files`` (the ``messages`` column, right padding)."""
    from omegaconf import OmegaConf
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    config = OmegaConf.create({"max_length": max_length, "truncation": "error", "messages_key": "messages"})
    return MultiTurnSFTDataset(parquet_files=[os.fspath(f) for f in files], tokenizer=tokenizer, config=config)


def scripted_trace(prompt: Sequence[Mapping[str, str]], ground_truth: str) -> str:
    """A well-formed CoR trace that quotes the row's candidates and ends in the right verdict.

    It stands in for a teacher's trace so the SFT path can be checked without a model.
    """
    found = extract_candidates(prompt[-1]["content"]) or ("", "")
    quote_a, quote_b = (text.strip().splitlines()[0][:60] if text.strip() else "(empty)" for text in found)
    good, weak = "Meets the heavier criteria best.", "Falls short on the heavier criteria."
    summary_a, summary_b = (good, weak) if ground_truth == "A" else (weak, good)
    return compose_cor(
        "Chat",
        ground_truth,
        rubric="1. Correctness (50%): the reply is right.\n2. Helpfulness (30%): it meets the need.\n"
        "3. Clarity (20%): it is easy to follow.",
        justify="Getting it right matters most; usefulness and clarity follow.",
        evidence=Evidence(quote_a, summary_a, quote_b, summary_b),
        comparison=f"Scripted preflight trace: Chatbot {ground_truth} scores higher on the weighted rubric.",
    )


def write_scripted_sft(rl_parquet: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """An SFT parquet with one scripted trace per RL row of ``rl_parquet``."""
    import pyarrow.parquet as pq

    rows = [
        sft_row(row["prompt"], scripted_trace(row["prompt"], row["reward_model"]["ground_truth"]),
                data_source_name=row["data_source"], extra_info=row["extra_info"])
        for row in pq.read_table(rl_parquet).to_pylist()
    ]
    return write_parquet(rows, out)


def assistant_only_loss(item: Mapping[str, Any], tokenizer: Any, response: str) -> bool:
    """True if the loss mask of a ``MultiTurnSFTDataset`` item covers the response and nothing before it."""
    ids = item["input_ids"][item["loss_mask"].bool()].tolist()
    return tokenizer.decode(ids).startswith(response) and response not in tokenizer.decode(
        item["input_ids"][~item["loss_mask"].bool()].tolist()
    )


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

    from infra.tiny_model import ensure_tiny_model

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
