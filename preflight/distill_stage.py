"""Preflight stage for distillation: pass 1 against the loopback judge, then the SFT parquet through verl.

It builds the instruct distill split of the bundled sample pairs, runs ``data_prep.distill`` pass 1
against a scripted Chain-of-Rubrics teacher behind the real loopback HTTP server (it prefers the
longer reply, so some verdicts are wrong and get filtered), counts row lengths with the tiny
tokenizer, then loads ``train.parquet`` through verl's ``MultiTurnSFTDataset`` and checks that the
loss covers the assistant's trace and nothing before it. A second run must ask the judge nothing
and write the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from data_prep.adapters import InputSpec
from data_prep.distill.passes import Teacher
from data_prep.distill.run import DistillOptions, DistillResult, distill
from data_prep.options import BuildOptions
from data_prep.pipeline import build
from infra.chat_types import Prices
from infra.run_metadata import sha256_file
from preflight.data_stage import PREFLIGHT_SFT_MAX_LENGTH, SAMPLES
from testkit.cor_policies import cor_judge
from testkit.loopback_judge import LoopbackJudge
from testkit.tiny_model import ensure_tiny_model
from testkit.verl_datasets import assistant_only_loss, datasets_cache_in, verl_sft_dataset

TEACHER_MODEL = "loopback-teacher"
PRICES = Prices(2.0, 8.0)  # illustrative USD per million tokens: the stage checks the arithmetic, not a price


def run_stage(work_dir: Path) -> str:
    """Distil the sample pairs' distill split with the loopback teacher; return a one-line summary."""
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    work_dir = Path(work_dir)
    model_dir = ensure_tiny_model(work_dir / "tiny_model")
    built = build(BuildOptions(inputs=(InputSpec(os.fspath(SAMPLES)),), out=work_dir / "data", variants=("instruct",),
                               val_size=0.2, distill_fraction=0.5, seed=0, progress=False))
    source = built.variants["instruct"].files["distill"]
    with LoopbackJudge(cor_judge(), model=TEACHER_MODEL) as judge:
        result = _distill(source, work_dir, judge, model_dir)
        digests = {p.name: sha256_file(p) for p in result.out.glob("*.parquet")}
        judge.reset()
        again = _distill(source, work_dir, judge, model_dir)
        if judge.call_count or {p.name: sha256_file(p) for p in again.out.glob("*.parquet")} != digests:
            raise RuntimeError(f"a rerun asked the judge {judge.call_count} times or changed the SFT parquet.")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with datasets_cache_in(work_dir / "datasets_cache"):
        dataset = verl_sft_dataset([result.out / "train.parquet"], tokenizer, PREFLIGHT_SFT_MAX_LENGTH)
    replies = [row["messages"][-1]["content"] for row in pq.read_table(result.out / "train.parquet").to_pylist()]
    reply_only = all(assistant_only_loss(dataset[i], tokenizer, reply) for i, reply in enumerate(replies))
    if len(dataset) != result.rows["train"] or not reply_only:
        raise RuntimeError(f"verl's MultiTurnSFTDataset did not load {result.out} with loss on the reply only.")
    first = result.counts["passes"]["pass1"]
    rejected = ", ".join(f"{r} {n}" for r, n in first["rejected"].items() if n) or "none"
    lengths = result.counts["lengths"]
    return (f"distill pass 1 on {first['asked']} sample rows via the loopback judge: kept {first['kept']}, rejected "
            f"{rejected}; {result.rows.get('train', 0)}/{result.rows.get('val', 0)} train/val SFT rows "
            f"(max {lengths.get('max')} of {lengths['max_length']} tokens), cost {result.counts['cost_usd']:.5f} USD "
            "at 2/8 USD per Mtok; MultiTurnSFTDataset trains on the reply only; rerun from cache: 0 calls, same bytes")


def _distill(source: Path, work_dir: Path, judge: LoopbackJudge, model_dir: Path) -> DistillResult:
    teacher = Teacher(judge.base_url, TEACHER_MODEL, max_concurrency=4)
    return distill(DistillOptions(input=source, out=work_dir / "sft", teacher=teacher, prices=PRICES, val_size=0.2,
                                  tokenizer=os.fspath(model_dir), max_length=PREFLIGHT_SFT_MAX_LENGTH, progress=False))
