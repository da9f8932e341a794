"""The reward through verl 0.9.1's own loader, RewardLoopWorker and NaiveRewardManager (real verl, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reward_fns import SCORE_KEYS, compute_score, format_verdict
from testkit.verl_reward import REWARD_PATH, Rollout, VerlRewardScorer, build_batch, compose_reward_config

PROMPT = [{"role": "system", "content": "Judge."}, {"role": "user", "content": "Which answer is better?"}]
ROLLOUTS = [
    Rollout(PROMPT, "<think>A is right.</think>\n" + format_verdict("A"), "A", "rm_r1/skywork"),  # +1
    Rollout(PROMPT, "B is better.\n" + format_verdict("B"), "A", "rm_r1/code"),  # wrong verdict: -1
    Rollout(PROMPT, "I could not decide.", "model_b", "rm_r1/math"),  # no verdict: format failure
    Rollout(PROMPT[1:], "Short. " + format_verdict("B"), "B", "rm_r1/math"),  # shorter prompt: other padding
]


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> VerlRewardScorer:
    return VerlRewardScorer(compose_reward_config(str(tiny_model_dir), {"format_failure": -0.5}))


def test_loader_resolves_pkg_path_with_reward_kwargs(tiny_model_dir: Path) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    cfg = compose_reward_config(str(tiny_model_dir), {"correct": 2.0})
    fn = get_custom_reward_fn(cfg)
    assert cfg.reward.custom_reward_function.path == REWARD_PATH
    assert fn(data_source="s", solution_str=format_verdict("A"), ground_truth="A", extra_info={})["score"] == 2.0


def test_manager_is_naive_and_scores_match_compute_score(scorer: VerlRewardScorer) -> None:
    from verl.experimental.reward_loop.reward_manager import NaiveRewardManager

    assert type(scorer.worker.reward_manager) is NaiveRewardManager
    batch = build_batch(scorer.tokenizer, ROLLOUTS)
    rm_scores, extra = scorer.score(batch)
    expected = [
        compute_score(
            data_source=r.data_source, solution_str=r.response, ground_truth=r.ground_truth, format_failure=-0.5
        )
        for r in ROLLOUTS
    ]
    assert rm_scores.sum(dim=1).tolist() == [e["score"] for e in expected] == [1.0, -1.0, -0.5, 1.0]
    assert tuple(extra) == SCORE_KEYS
    assert extra["format_ok"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert extra["picked_a"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_score_sits_on_last_valid_response_token(scorer: VerlRewardScorer) -> None:
    batch = build_batch(scorer.tokenizer, ROLLOUTS)
    rm_scores, _ = scorer.score(batch)
    prompt_len = batch.batch["prompts"].shape[1]
    valid = batch.batch["attention_mask"][:, prompt_len:].sum(dim=1)
    for row, n in enumerate(valid.tolist()):
        nonzero = rm_scores[row].nonzero().flatten().tolist()
        assert nonzero == [n - 1], f"row {row}: reward at {nonzero}, last valid token {n - 1}"


def test_decoded_response_keeps_tags(scorer: VerlRewardScorer) -> None:
    """verl decodes with skip_special_tokens=True; the verdict and think tags must survive it."""
    batch = build_batch(scorer.tokenizer, ROLLOUTS[:1])
    ids = batch.batch["responses"][0]
    text = scorer.tokenizer.decode(ids[ids != scorer.tokenizer.pad_token_id], skip_special_tokens=True)
    assert text == ROLLOUTS[0].response
