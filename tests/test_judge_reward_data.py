"""Policy-RL parquet for the judge reward (data_prep/policy_rows.py through build_parquet --policy)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep.build_parquet import cli
from reward_fns.judge_reward import compute_score
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy
from testkit.verl_datasets import datasets_cache_in, verl_rl_dataset

PAIRS = [
    # a plain single-turn pair: one policy row, its chosen answer the reference
    {"id": "p1", "source": "toy", "prompt": "Name a colour of the sky.", "chosen": "Blue, on a clear day.",
     "rejected": "Green."},
    # the same prompt again: no second row (one row per prompt), counted as repeat_prompt
    {"id": "p2", "source": "toy", "prompt": "Name a colour of the sky.", "chosen": "Blue.", "rejected": "Red."},
    # a multi-turn pair: dropped and counted (the judge reward shows one question)
    {"id": "p3", "source": "toy", "messages": [{"role": "user", "content": "Hi."},
                                                {"role": "assistant", "content": "Hello."},
                                                {"role": "user", "content": "Name a fruit."}],
     "chosen": "An apple.", "rejected": "A chair."},
    *({"id": f"q{i}", "source": "more", "prompt": f"Count to {i}.", "chosen": " ".join(map(str, range(1, i + 1))),
       "rejected": "No."} for i in range(2, 8)),
]


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(p) + "\n" for p in PAIRS), encoding="utf-8")
    assert cli(["--policy", "--inputs", str(pairs), "--val-size", "0.2", "--out", str(tmp_path / "out"),
                "--no-progress"]) == 0
    return tmp_path / "out" / "policy"


def rows(folder: Path) -> list[dict]:
    return [row for split in ("train", "val") for row in pq.read_table(folder / f"{split}.parquet").to_pylist()]


def test_one_row_per_single_turn_prompt_with_the_chosen_answer_as_reference(built: Path) -> None:
    found = {row["extra_info"]["question"]: row for row in rows(built)}
    assert len(found) == 7 and "Name a fruit." not in found
    sky = found["Name a colour of the sky."]
    assert sky["reward_model"]["ground_truth"] == "Blue, on a clear day."  # from the first pair by id
    assert sky["prompt"] == [{"role": "user", "content": "Name a colour of the sky."}]
    assert sky["data_source"] == "policy/toy"


def test_manifest_accounts_for_every_row(built: Path) -> None:
    meta = json.loads((built / "manifest.json").read_text())
    counts = meta["counts"]
    assert counts["dropped"]["multi_turn"] == {"toy": 1} and counts["dropped"]["repeat_prompt"] == {"toy": 1}
    assert counts["accounting"] == {"more": {"read": 6, "dropped": 0, "kept": 6},
                                    "toy": {"read": 3, "dropped": 2, "kept": 1}}
    assert meta["inputs"][0]["sha256"]


def test_rows_load_in_verl_and_feed_the_judge_reward(built: Path, tiny_tokenizer, tmp_path: Path) -> None:
    with datasets_cache_in(tmp_path / "hf"):
        assert len(verl_rl_dataset([built / "train.parquet"], tiny_tokenizer, 512)) == len(
            pq.read_table(built / "train.parquet"))
    row = rows(built)[0]
    with LoopbackJudge(marker_policy("GOOD", fallback="B")) as judge:
        result = asyncio.run(compute_score(row["data_source"], "A GOOD answer.", row["reward_model"]["ground_truth"],
                                           row["extra_info"], judge_url=judge.base_url, judge_model=judge.model))
    assert result["score"] == 1.0
    assert row["extra_info"]["question"] in (judge.calls[0].prompt or "")


@pytest.mark.parametrize(
    "flags",
    [
        ["--distill-fraction", "0.1"],  # policy rows have no distillation split
        ["--tokenizer", "x"],  # no judge prompt to measure
    ],
)
def test_flags_without_effect_are_refused(tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps(PAIRS[0]) + "\n", encoding="utf-8")
    assert cli(["--policy", "--inputs", str(pairs), "--out", str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert "has no effect with --policy" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "policy").exists()


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--val-size", "nan"], "--val-size nan"),  # was a ValueError traceback: --policy skipped the option checks
        (["--val-size", "-1"], "--val-size -1"),  # a negative size
        (["--val-size", "1.5"], "--val-size 1.5"),  # neither a fraction nor a whole count
        (["--decontam-threshold", "nan"], "--decontam-threshold nan"),  # NaN threshold
        (["--inputs", "no-such-file.jsonl"], "does not exist"),  # a second, missing input file
    ],
)
def test_bad_values_are_refused_as_for_every_build(tmp_path: Path, flags: list[str], named: str,
                                                   capsys: pytest.CaptureFixture) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps(PAIRS[0]) + "\n", encoding="utf-8")
    assert cli(["--policy", "--inputs", str(pairs), "--out", str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


MULTI = PAIRS[2]  # a multi-turn pair: never a policy row


@pytest.mark.parametrize(
    ("pairs", "flags", "named"),
    [
        ([MULTI], [], "inputs hold no single-turn prompt to keep (dropped: multi_turn 1)"),  # was a traceback
        ([PAIRS[0], MULTI], ["--val-size", "1"], "no single-turn prompt is left for the train split"),  # the one
        # single-turn prompt goes to val, the multi-turn pair is dropped: train would be empty (was a traceback)
    ],
)
def test_an_empty_split_is_refused_before_anything_is_written(tmp_path: Path, pairs: list[dict], flags: list[str],
                                                              named: str, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    assert cli(["--policy", "--inputs", str(source), "--out", str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
