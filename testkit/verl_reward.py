"""Score rollouts through verl 0.9.1's own reward path on CPU (no Ray, no GPU).

This drives exactly what the trainer's reward workers run: the composed `ppo_trainer` config, verl's
`RewardLoopWorker` (which loads the tokenizer and calls `load_reward_manager`, which loads our
`pkg://reward_fns.score` through `get_custom_reward_fn`), `compute_score_batch` on a `DataProto` laid
out like a rollout batch (left-padded prompts, right-padded responses), and the manager class's
`assemble_rm_scores`, which puts each score on the last valid response token. Tests, the preflight and
`benchmarks/reward_speed.py` share it, so all three exercise the same real integration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

REWARD_PATH = "pkg://reward_fns.score"
REWARD_NAME = "compute_score"


@dataclass(frozen=True)
class Rollout:
    """One judged sample: the prompt messages, the judge's response text and the row's labels."""

    prompt: list[dict[str, str]]
    response: str
    ground_truth: str
    data_source: str = "preflight/sample"
    extra_info: dict[str, Any] = field(default_factory=dict)


def compose_reward_config(
    model_path: str, reward_kwargs: dict[str, Any] | None = None, overrides: Sequence[str] = (), path: str = REWARD_PATH
):
    """verl's real `ppo_trainer` config with a reward (``path``; default: the RM-R1 reward) by the 0.9.1 keys."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    args = [
        "actor_rollout_ref.rollout.name=vllm",
        f"actor_rollout_ref.model.path={model_path}",
        f"reward.custom_reward_function.path={path}",
        f"reward.custom_reward_function.name={REWARD_NAME}",
        *(f"+reward.custom_reward_function.reward_kwargs.{k}={v}" for k, v in (reward_kwargs or {}).items()),
        *overrides,
    ]
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return compose(config_name="ppo_trainer", overrides=args)


def build_batch(tokenizer, rollouts: Sequence[Rollout]):
    """A `DataProto` shaped like verl's rollout output for ``rollouts``."""
    import numpy as np
    import torch
    from verl import DataProto

    prompts = [tokenizer.apply_chat_template(r.prompt, tokenize=False, add_generation_prompt=True) for r in rollouts]
    prompt_ids = [tokenizer.encode(p, add_special_tokens=False) for p in prompts]
    response_ids = [tokenizer.encode(r.response, add_special_tokens=False) + [tokenizer.eos_token_id] for r in rollouts]
    p_len, r_len = max(map(len, prompt_ids)), max(map(len, response_ids))
    pad = tokenizer.pad_token_id
    prompt_t = torch.tensor([[pad] * (p_len - len(ids)) + ids for ids in prompt_ids])
    resp_t = torch.tensor([ids + [pad] * (r_len - len(ids)) for ids in response_ids])
    mask = torch.tensor(
        [
            [0] * (p_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (r_len - len(r))
            for p, r in zip(prompt_ids, response_ids, strict=True)
        ]
    )
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_t,
            "responses": resp_t,
            "input_ids": torch.cat([prompt_t, resp_t], 1),
            "attention_mask": mask,
        },
        non_tensors={
            "data_source": np.array([r.data_source for r in rollouts], dtype=object),
            "reward_model": np.array(
                [{"style": "rule", "ground_truth": r.ground_truth} for r in rollouts], dtype=object
            ),
            "extra_info": np.array([dict(r.extra_info) for r in rollouts], dtype=object),
        },
    )


class VerlRewardScorer:
    """Holds one verl `RewardLoopWorker` built from a composed config; scores batches of rollouts."""

    def __init__(self, config, reward_router_address: str | None = None) -> None:
        from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

        self.config = config
        # What verl's RewardLoopManager passes when it launched judge servers ("ip:port", no scheme).
        self.worker = RewardLoopWorker(config, reward_router_address)
        self.tokenizer = self.worker.input_tokenizer

    def score(self, batch):
        """Return (rm_scores tensor [B, R], {extra key: numpy array}) exactly as the trainer assembles them."""
        import numpy as np

        outputs = self.worker.loop.run_until_complete(self.worker.compute_score_batch(batch))
        scores = [out["reward_score"] for out in outputs]
        rm_scores = type(self.worker.reward_manager).assemble_rm_scores(batch, scores)
        infos = [out.get("reward_extra_info", {}) for out in outputs]
        keys = list(infos[0])  # verl indexes every sample by the first sample's keys
        return rm_scores, {k: np.array([info[k] for info in infos]) for k in keys}
