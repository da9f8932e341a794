"""verl's own datasets, configured as the trainer does, and scripted Chain-of-Rubrics traces for SFT checks.

The preflight's data stage and the tests load built parquet files through these, so both check the
real integration: ``RLHFDataset`` with ``filter_overlong_prompts`` on, and ``MultiTurnSFTDataset``
over SFT rows whose reply is a scripted trace. verl is imported only inside these functions: it
takes seconds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.length_filter import token_ids
from data_prep.pairs import Message, PreferencePair
from data_prep.prompts import PromptTemplate, render_pair
from data_prep.writers import sft_row, write_parquet_rows
from testkit.judge_texts import Evidence, compose_cor, extract_candidates, pair_from_dict, swap


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
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_parquet_rows(rows, out)
    return Path(out)


def assistant_only_loss(item: Mapping[str, Any], tokenizer: Any, response: str) -> bool:
    """True if the loss mask of a ``MultiTurnSFTDataset`` item covers the response and nothing before it."""
    ids = item["input_ids"][item["loss_mask"].bool()].tolist()
    return tokenizer.decode(ids).startswith(response) and response not in tokenizer.decode(
        item["input_ids"][~item["loss_mask"].bool()].tolist()
    )


def longest_prompt(tokenizer: Any, pair: PreferencePair, template: PromptTemplate,
                   chat_template_kwargs: Mapping[str, Any] | None = None) -> int:
    """The longer A/B judge prompt of ``pair`` in tokens, one order at a time as verl's ``RLHFDataset`` counts it
    (``apply_chat_template(tokenize=True)``): the reference the batched length filter is tested against."""
    return max(len(token_ids(tokenizer.apply_chat_template(
        [dict(m) for m in render_pair(template, pair, label)], add_generation_prompt=True, tokenize=True,
        **dict(chat_template_kwargs or {})))) for label in ("A", "B"))


def sample_pairs() -> list[PreferencePair]:
    """The cleaned pairs of the shipped synthetic sample file, as a build reads them."""
    from data_prep.adapters import InputSpec
    from data_prep.build_parquet import SAMPLES
    from data_prep.collect import collect
    from data_prep.options import BuildOptions

    return collect(BuildOptions(inputs=(InputSpec(str(SAMPLES)),), progress=False)).pairs


def pair_of_row(row: Mapping[str, Any]) -> PreferencePair:
    """The pair an RL row (or its ``extra_info``) was rendered from."""
    return pair_from_dict(row.get("extra_info", row)["pair"])


def rerender(row: Mapping[str, Any], template: PromptTemplate, swapped: bool = True) -> list[Message]:
    """The row's prompt rendered again from its ``extra_info.pair``, by default with A and B swapped."""
    position = row["extra_info"]["chosen_position"]
    return render_pair(template, pair_of_row(row), swap(position) if swapped else position)
