"""Group mode of the judge reward (opt-in): each rollout is judged against its GRPO siblings, not a fixed reference.

Why: judged against one reference, a group whose rollouts all beat it (or all lose) gets the same
reward everywhere and GRPO learns nothing from it. Judged against each other, the group is ranked.

verl 0.9.1 scores one rollout per call and spreads a group over several worker processes, so siblings
meet at a cohort barrier: a named Ray actor (:class:`Cohorts`, async) keyed by the group's ``uid``.
Each rollout joins with its answer and waits until all ``group_size`` members are in, or until
``group_timeout_s`` has passed (an aborted or filtered rollout never arrives; the members present go
on without it). Then each member judges itself, in both orders, against every other member when the
group is small (``round_robin_max``: a round robin), else against one sibling drawn with a seed from the
uid and its own answer. A member left alone (validation with n=1, a group cut down to one) falls back to
reference mode: :func:`reward_fns.judge_reward.compute_score` against the row's reference.

Wiring: verl's naive manager does not pass ``uid`` to the reward, so :class:`GroupRewardManager` (the
naive manager plus ``extra_info["uid"]``) is loaded with ``reward.reward_manager.source=importlib``,
``reward.reward_manager.module.path=pkg://reward_fns.judge_group`` and
``reward.reward_manager.name=GroupRewardManager``; the reward function is this module's
:func:`compute_score` with the judge reward's kwargs plus ``group_size`` (the rollout ``n``).
This module imports verl and Ray (only verl's reward workers load it); ``reward_fns`` itself does not.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any

from verl import DataProto
from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

from reward_fns import judge_reward

COHORTS_ACTOR = "rm_r1_judge_cohorts"
_MAX_WAITERS = 1_000_000  # every rollout of a step may wait at the barrier at once: never a limit


class Cohorts:
    """The barrier: members of a group (by uid) meet here and each leaves with every answer that arrived."""

    def __init__(self) -> None:
        self._groups: dict[str, dict[str, Any]] = {}

    async def join(self, uid: str, member: str, answer: str, size: int, timeout_s: float) -> dict[str, str]:
        group = self._groups.setdefault(uid, {"answers": {}, "full": asyncio.Event(), "left": 0})
        group["answers"][member] = answer
        if len(group["answers"]) >= size:
            group["full"].set()
        try:
            await asyncio.wait_for(group["full"].wait(), timeout_s)
        except asyncio.TimeoutError:
            group["full"].set()  # the group closes: the members present go on, a late one starts anew
        answers = dict(group["answers"])
        group["left"] += 1
        if group["left"] >= len(group["answers"]) and self._groups.get(uid) is group:
            del self._groups[uid]
        return answers


class GroupRewardManager(NaiveRewardManager):  # type: ignore[misc]  # verl is untyped here
    """verl's naive reward manager that also hands the rollout's group ``uid`` to the reward in ``extra_info``."""

    async def run_single(self, data: DataProto) -> dict[str, Any]:
        item = data[-1]
        uid, extra = item.non_tensor_batch.get("uid"), item.non_tensor_batch.get("extra_info")
        if uid is not None and isinstance(extra, dict):
            extra["uid"] = str(uid)  # the dict verl passes on as extra_info (it adds num_turns the same way)
        result: dict[str, Any] = await super().run_single(data)
        return result


async def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    group_size: int = 1,
    group_timeout_s: float = 600.0,
    round_robin_max: int = 4,
    seed: int = 0,
    **kwargs: Any,
) -> dict[str, float]:
    """The judge reward in group mode (same keys as reference mode); see the module docstring."""
    info = dict(extra_info or {})
    uid = info.get("uid")
    if group_size < 2 or uid is None or info.get("split") == "val":
        return await judge_reward.compute_score(data_source, solution_str, ground_truth, info, **kwargs)
    answer = judge_reward.strip_thinking(solution_str)
    member = uuid.uuid4().hex
    answers = await _cohorts().join.remote(str(uid), member, answer, group_size, group_timeout_s)
    siblings = [text for key, text in sorted(answers.items()) if key != member]
    if not siblings:  # everyone else was aborted: the row's reference is the only opponent left
        return await judge_reward.compute_score(data_source, solution_str, ground_truth, info, **kwargs)
    if len(siblings) + 1 > round_robin_max:
        digest = hashlib.sha256(f"{seed}:{uid}:{answer}".encode("utf-8", "surrogatepass")).hexdigest()
        siblings = [random.Random(digest).choice(siblings)]
    results = await asyncio.gather(
        *(judge_reward.compute_score(data_source, solution_str, sibling, info, **kwargs) for sibling in siblings))
    merged = _merged(results, kwargs.get("low", -1.0), kwargs.get("high", 1.0))
    merged["reference_len"] = float(len(str(ground_truth)))  # the monitor's drift stays against the row's reference
    return merged


_SUMMED = ("judge_consistent", "judge_both_parsed", "judge_calls", "judge_parse_fail", "judge_error", "judge_cached",
           "judge_picked_first")  # counts over all judgments; the rest are per rollout


def _merged(results: list[dict[str, float]], low: float, high: float) -> dict[str, float]:
    """One rollout's keys over several opponents: counts summed, the rest averaged, the score from the mean win."""
    merged = {key: sum(r[key] for r in results) / (1 if key in _SUMMED else len(results)) for key in results[0]}
    merged["score"] = float(low + (high - low) * merged["judge_win_rate"])
    return merged


@cache
def _cohorts() -> Any:
    """The one barrier actor of this Ray job (created by whichever worker asks first)."""
    import ray

    return ray.remote(Cohorts).options(
        name=COHORTS_ACTOR, get_if_exists=True, max_concurrency=_MAX_WAITERS, num_cpus=0
    ).remote()
