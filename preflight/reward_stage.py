"""Preflight stage for the reward: score the bundled rollouts through verl's own reward manager.

Each sample rollout (``samples/rollouts.jsonl``) carries the score it must get; the stage drives
verl's ``RewardLoopWorker`` + ``NaiveRewardManager`` with our reward function and checks every one.
"""

from __future__ import annotations

import json
from pathlib import Path

from testkit.tiny_model import ensure_tiny_model
from testkit.verl_reward import Rollout, VerlRewardScorer, build_batch, compose_reward_config

SAMPLE_ROLLOUTS = Path(__file__).resolve().parent / "samples" / "rollouts.jsonl"


def run_stage(work_dir: Path) -> str:
    """Score the bundled rollouts through verl's RewardLoopWorker + NaiveRewardManager; check each score."""
    rows = [json.loads(line) for line in SAMPLE_ROLLOUTS.read_text().splitlines() if line.strip()]
    rollouts = [Rollout(r["prompt"], r["response"], r["ground_truth"], r["data_source"]) for r in rows]
    scorer = VerlRewardScorer(compose_reward_config(str(ensure_tiny_model(work_dir / "tiny_model"))))
    rm_scores, extra = scorer.score(build_batch(scorer.tokenizer, rollouts))
    got = rm_scores.sum(dim=1).tolist()
    wrong = [
        f"{r['id']} scored {g:+.0f}, expected {r['expected_score']:+.0f}"
        for r, g in zip(rows, got, strict=True)
        if g != r["expected_score"]
    ]
    if wrong:
        raise RuntimeError("reward mismatch: " + "; ".join(wrong))
    return (
        f"{len(rows)} rollouts scored as expected: mean reward {sum(got) / len(got):+.2f}, "
        f"acc {extra['acc'].mean():.2f}, format_ok {extra['format_ok'].mean():.2f}, "
        f"metric keys {sorted(extra)}"
    )
