"""Built data through verl 0.9.1's own classes: RLHFDataset, MultiTurnSFTDataset and the reward loop."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep.adapters import InputSpec
from data_prep.build_parquet import SAMPLES
from data_prep.cor_parser import parse_cor
from data_prep.pairs import make_pair
from data_prep.pipeline import BuildOptions, BuildResult, build
from data_prep.prompts import builtin_template
from infra.run_metadata import RunMetadata
from preflight.data_stage import run_stage
from testkit.judge_texts import swap
from testkit.verl_datasets import (
    datasets_cache_in,
    longest_prompt,
    sample_pairs,
    scripted_trace,
    verl_rl_dataset,
    verl_sft_dataset,
    write_scripted_sft,
)


@pytest.fixture(autouse=True, scope="module")
def _private_datasets_cache(tmp_path_factory: pytest.TempPathFactory):
    """RLHFDataset caches every parquet it loads; keep that out of the home folder."""
    with datasets_cache_in(tmp_path_factory.mktemp("datasets_cache")):
        yield


def _build(out: Path, tokenizer_dir: Path | None = None, max_len: int | None = None, **kw) -> BuildResult:
    return build(BuildOptions(
        inputs=(InputSpec(str(SAMPLES)),), out=out, val_size=0.2, distill_fraction=0.2, seed=0, progress=False,
        tokenizer=str(tokenizer_dir) if tokenizer_dir else None, max_prompt_length=max_len, **kw,
    ))


@pytest.fixture(scope="module")
def lengths(tiny_tokenizer) -> dict[str, int]:
    """The longer A/B rendering of every sample pair, in tiny-tokenizer tokens (instruct variant)."""
    pairs = sample_pairs()
    return {p.id: longest_prompt(tiny_tokenizer, p, builtin_template("instruct")) for p in pairs}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> BuildResult:
    return _build(tmp_path_factory.mktemp("full"), tiny_model_dir, 10**6)


def _ids(dataset) -> set[str]:
    return {dataset[i]["extra_info"]["pair_id"] for i in range(len(dataset))}


def test_rl_parquet_loads_through_rlhfdataset(full: BuildResult, tiny_tokenizer) -> None:
    for variant, vb in full.variants.items():
        for split, path in vb.files.items():
            rows = pq.read_table(path).to_pylist()
            dataset = verl_rl_dataset([path], tiny_tokenizer, max_prompt_length=10**6)
            assert len(dataset) == len(rows) == vb.rows[split]
            item = dataset[0]
            assert item["raw_prompt"] == rows[0]["prompt"], variant
            assert item["data_source"] == rows[0]["data_source"] and item["data_source"].startswith("rm_r1/sample_")
            assert item["reward_model"]["ground_truth"] == item["extra_info"]["chosen_position"]
            assert item["index"] == 0


def test_our_length_filter_matches_verls(tmp_path: Path, tiny_model_dir: Path, tiny_tokenizer, lengths) -> None:
    limit = sorted(lengths.values())[len(lengths) // 2]  # about half the pairs fit
    ours = _build(tmp_path / "filtered", tiny_model_dir, limit, variants=("instruct",)).variants["instruct"]
    dropped = RunMetadata.read(ours.manifest).counts["dropped"]["too_long"]
    kept_ids = {i for i, n in lengths.items() if n <= limit}
    assert 0 < sum(dropped.values()) == len(lengths) - len(kept_ids)
    unfiltered = _build(tmp_path / "raw", variants=("instruct",)).variants["instruct"]
    for split in ours.files:
        # verl drops nothing from our filtered data, and keeps every pair we kept from the unfiltered data
        filtered_set = verl_rl_dataset([ours.files[split]], tiny_tokenizer, max_prompt_length=limit)
        assert len(filtered_set) == ours.rows[split]
        raw_set = verl_rl_dataset([unfiltered.files[split]], tiny_tokenizer, max_prompt_length=limit)
        assert _ids(filtered_set) <= _ids(raw_set)
    assert RunMetadata.read(ours.manifest).config["max_prompt_length"] == limit


def test_chat_template_kwargs_reach_the_length_count_and_the_manifest(tmp_path: Path, tiny_model_dir, tiny_tokenizer):
    pair = make_pair("demo", "q", "a", "b")
    plain = longest_prompt(tiny_tokenizer, pair, builtin_template("reasoning"))
    thinking = longest_prompt(tiny_tokenizer, pair, builtin_template("reasoning"), {"enable_thinking": True})
    assert thinking > plain  # the template opens <think>
    built = _build(tmp_path, tiny_model_dir, 10**6, variants=("reasoning",),
                   chat_template_kwargs={"enable_thinking": True})
    config = RunMetadata.read(built.variants["reasoning"].manifest).config
    assert config["chat_template_kwargs"] == {"enable_thinking": True}
    assert config["tokenizer"] == tiny_model_dir.name  # the folder's name, never an absolute path


@pytest.mark.parametrize("variant", ["instruct", "reasoning"])
def test_sft_parquet_trains_on_the_assistant_turn_only(full: BuildResult, tmp_path: Path, tiny_tokenizer, variant):
    sft_path = write_scripted_sft(full.variants[variant].files["distill"], tmp_path / "sft.parquet")
    rows = pq.read_table(sft_path).to_pylist()
    dataset = verl_sft_dataset([sft_path], tiny_tokenizer, max_length=8192)
    assert len(dataset) == len(rows) == full.variants[variant].rows["distill"]
    for i, row in enumerate(rows):
        response = row["messages"][-1]["content"]
        assert parse_cor(response).complete and parse_cor(response).label == row["extra_info"]["chosen_position"]
        item = dataset[i]
        mask = item["loss_mask"].bool()
        assert tiny_tokenizer.decode(item["input_ids"][mask].tolist()) == response + "<|im_end|>\n"
        unmasked = tiny_tokenizer.decode(item["input_ids"][~mask & item["attention_mask"].bool()].tolist())
        assert unmasked.endswith("<|im_start|>assistant\n") and response not in unmasked


def test_rows_score_through_verls_reward_loop(full: BuildResult, tiny_model_dir: Path, tiny_tokenizer) -> None:
    from testkit.verl_reward import Rollout, VerlRewardScorer, build_batch, compose_reward_config

    scorer = VerlRewardScorer(compose_reward_config(str(tiny_model_dir)))
    rollouts, expected = [], []
    for vb in full.variants.values():
        dataset = verl_rl_dataset([vb.files["val"]], tiny_tokenizer, max_prompt_length=10**6)
        for i in range(len(dataset)):
            item = dataset[i]
            truth = item["reward_model"]["ground_truth"]
            for label, score in ((truth, 1.0), (swap(truth), -1.0)):
                response = scripted_trace(item["raw_prompt"], label)
                rollouts.append(Rollout(item["raw_prompt"], response, truth, item["data_source"], item["extra_info"]))
                expected.append(score)
    rm_scores, extra = scorer.score(build_batch(scorer.tokenizer, rollouts))
    assert rm_scores.sum(dim=1).tolist() == expected
    assert extra["format_ok"].tolist() == [1.0] * len(expected)


def test_preflight_stage(tmp_path: Path) -> None:
    summary = run_stage(tmp_path)
    assert "\n" not in summary and summary.startswith("data_prep: built instruct")
    assert "reasoning" in summary and "31 sample pairs" in summary
    names = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert names == [f"data/{v}/{f}" for v in ("instruct", "reasoning")
                     for f in ("distill.parquet", "manifest.json", "train.parquet", "val.parquet")]
