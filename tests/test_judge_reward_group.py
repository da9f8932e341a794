"""Group mode of the judge reward on a real local Ray node: siblings meet at the cohort barrier, one rollout aborted.

Two verl reward workers (verl's RewardLoopWorker with the group manager loaded by importlib, as the recipe
wires it; here in one process, on one event loop) each score half of a batch, so every group is split
across workers as in training and its members can meet only at the barrier actor in Ray; the judge is
the loopback server over real HTTP.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from testkit.local_slurm import processes_mentioning
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy
from testkit.verl_reward import Rollout, VerlRewardScorer, build_batch, compose_reward_config

pytestmark = pytest.mark.cluster  # a real Ray node

GROUP_PATH = "pkg://reward_fns.judge_group"
PROMPT = [{"role": "user", "content": "Name a primary colour."}]
BARRIER_S = 8.0  # long enough for a loaded 2-core machine to deliver every member of a complete group
MANAGER = ["reward.reward_manager.source=importlib", f"reward.reward_manager.module.path={GROUP_PATH}",
           "reward.reward_manager.name=GroupRewardManager"]


@pytest.fixture(scope="module")
def ray_node() -> Iterator[None]:
    import ray

    tmp = Path(tempfile.mkdtemp(prefix="rmr1-ray-"))  # short: Ray's socket paths must stay under 107 bytes
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_AUTH_MODE", "disabled")
        # address="local": always a new node of our own, never a cluster another test or helper started.
        ray.init(address="local", num_cpus=1, include_dashboard=False, logging_level="ERROR", _temp_dir=str(tmp))
        try:
            yield
        finally:
            ray.shutdown()
    leftovers = processes_mentioning(str(tmp))
    shutil.rmtree(tmp, ignore_errors=True)
    assert not leftovers, f"Ray processes left running: {leftovers}"


def workers(model_dir: Path, judge: LoopbackJudge, group_size: int) -> list[VerlRewardScorer]:
    kwargs = {"judge_model": "loopback-judge", "timeout_s": 5.0, "max_retries": 0, "group_size": group_size,
              "group_timeout_s": BARRIER_S, "round_robin_max": 4}
    config = compose_reward_config(str(model_dir), kwargs, MANAGER, path=GROUP_PATH)
    address = judge.base_url.removeprefix("http://").removesuffix("/v1")
    return [VerlRewardScorer(config, address) for _ in range(2)]


def score_split(scorers: list[VerlRewardScorer], rollouts: list[Rollout], uids: list[str]) -> dict[str, list]:
    """Score the batch with the two workers at once, each taking every other rollout (groups split across them)."""
    batch = build_batch(scorers[0].tokenizer, rollouts)
    batch.non_tensor_batch["uid"] = np.array(uids, dtype=object)
    halves = [batch[0::2], batch[1::2]]

    async def both() -> list[list[dict]]:
        jobs = [scorer.worker.compute_score_batch(half) for scorer, half in zip(scorers, halves, strict=True)]
        return list(await asyncio.gather(*jobs))

    outputs = scorers[0].worker.loop.run_until_complete(both())
    by_row: list[dict] = [{}] * len(rollouts)
    for half, results in enumerate(outputs):
        for i, out in enumerate(results):
            by_row[half + 2 * i] = out["reward_extra_info"]
    return {key: [row[key] for row in by_row] for key in by_row[0]}


def test_group_round_robin_with_an_aborted_rollout(ray_node: None, tiny_model_dir: Path) -> None:
    # Group g1 is complete (4 of 4); group g2 lost one rollout (3 of 4 arrive): its members wait for the
    # barrier's timeout, then judge each other. The marker judge prefers the answer saying GOOD; between
    # two plain answers it falls back to B, so each plain pair splits one win each (0.5).
    answers = ["GOOD red.", "Blue.", "Green.", "Pink.", "GOOD red.", "Blue.", "Green."]
    uids = ["g1"] * 4 + ["g2"] * 3
    with LoopbackJudge(marker_policy("GOOD", fallback="B")) as judge:
        scorers = workers(tiny_model_dir, judge, group_size=4)
        rollouts = [Rollout(PROMPT, a, "A reference.", "policy/demo", {"question": "Name a primary colour.",
                                                                         "split": "train"}) for a in answers]
        started = time.monotonic()
        extra = score_split(scorers, rollouts, uids)
        waited = time.monotonic() - started
        calls = judge.call_count
    win = extra["judge_win_rate"]
    assert win[0] == 1.0 and win[4] == 1.0  # GOOD beats every sibling in both orders
    assert win[1:4] == [pytest.approx(1 / 3)] * 3  # 0 vs GOOD, 0.5 vs each of the two plain siblings
    assert win[5:7] == [pytest.approx(0.25)] * 2  # g2 ran with its 3 members: 0 vs GOOD, 0.5 vs the other
    assert extra["score"][0] == 1.0 and extra["score"][1] == pytest.approx(-1 / 3)
    assert extra["judge_calls"] == [6.0] * 4 + [4.0] * 3  # two orders per opponent
    assert calls == 4 * 6 + 3 * 4
    assert BARRIER_S <= waited < 10 * BARRIER_S  # g2 waited for the barrier's timeout, not forever


def test_validation_and_lone_members_fall_back_to_the_reference(ray_node: None, tiny_model_dir: Path) -> None:
    with LoopbackJudge(marker_policy("GOOD", fallback="B")) as judge:
        scorers = workers(tiny_model_dir, judge, group_size=4)
        info = {"question": "Name a primary colour.", "split": "val"}
        rollouts = [Rollout(PROMPT, "GOOD.", "A reference.", "policy/demo", info),
                    Rollout(PROMPT, "Blue.", "A GOOD reference.", "policy/demo", info)]
        started = time.monotonic()
        extra = score_split(scorers, rollouts, ["v1", "v2"])
        assert time.monotonic() - started < BARRIER_S  # no barrier wait for validation rows
        assert extra["score"] == [1.0, -1.0] and extra["judge_calls"] == [2.0, 2.0]
        assert judge.call_count == 4
