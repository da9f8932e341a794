"""The policy-RL entry point: verl's GRPO run with the judge's reward-hacking monitor in every step's metrics.

    python -m recipes.policy_trainer --config-path <repo>/recipes --config-name policy_rl_qwen7b [key=value ...]

The same Hydra config, overrides and run as ``python -m verl.trainer.main_ppo`` on verl's legacy trainer
(``trainer.use_v1=false``, set by the policy recipes), plus one hook. verl 0.9.1 logs a reward's extra keys
per step nowhere (only at validation, ``val-aux/...``), but after the reward step of a training step every
key the reward returned is a column of ``batch.non_tensor_batch`` (one value per rollout), whether a
colocated judge or a standalone one scored it. The one method of the step that receives that batch and
returns metrics the step logs is the actor update: :class:`JudgeMonitorTrainer` adds
:func:`judge_step_metrics` (``judge/agreement``, ``judge/parse_fail_rate``, ``judge/length_drift``,
``judge/verdict_share``, ...; :func:`reward_fns.judge_monitor.monitor_metrics`) to its metrics. A batch
without the judge reward's keys (the scalar-RM baseline) adds nothing, so both runs train the same way.
verl's v1 trainer keeps the batch in TransferQueue instead (a colocated reward's keys as fields of their
own, a standalone one's inside ``extra_fields``), hence the legacy trainer here.
"""

from __future__ import annotations

import sys

import hydra
import ray
from omegaconf import DictConfig
from verl import DataProto
from verl.trainer import main_ppo_v0
from verl.trainer.main_ppo import run_ppo
from verl.trainer.ppo.ray_trainer import RayPPOTrainer
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import validate_config
from verl.utils.device import auto_set_device

from reward_fns.judge_monitor import monitor_metrics
from reward_fns.judge_reward import JUDGE_KEYS

PROG = "python -m recipes.policy_trainer"


def judge_step_metrics(batch: DataProto) -> dict[str, float]:
    """The monitor's metrics over the judge reward's columns of a training batch; {} if the reward is not the judge."""
    columns = batch.non_tensor_batch
    if not all(key in columns for key in JUDGE_KEYS):
        return {}
    return monitor_metrics({key: columns[key].tolist() for key in JUDGE_KEYS})


class JudgeMonitorTrainer(RayPPOTrainer):
    """verl's legacy PPO trainer whose actor-update metrics also carry :func:`judge_step_metrics` of the batch."""

    def _update_actor(self, batch: DataProto) -> DataProto:
        output: DataProto = super()._update_actor(batch)
        output.meta_info["metrics"].update(judge_step_metrics(batch))
        return output


class _TaskRunner(main_ppo_v0.TaskRunner.__ray_actor_class__):  # verl's runner, unwrapped from ray.remote
    def run(self, config: DictConfig) -> None:
        # verl's run builds the trainer by this module-level name; the actor's worker process is the run's own.
        main_ppo_v0.RayPPOTrainer = JudgeMonitorTrainer
        super().run(config)


JudgeMonitorTaskRunner = ray.remote(_TaskRunner)


def train(config: DictConfig) -> None:
    """verl's ``main_ppo.main`` with the monitored trainer; the v1 trainer is refused (its batch has no hook)."""
    if config.trainer.use_v1:
        print(f"{PROG}: error: trainer.use_v1=true runs verl's v1 trainer, which this entry point cannot monitor; "
              "drop the override (the policy recipes set trainer.use_v1=false).", file=sys.stderr)
        raise SystemExit(2)
    auto_set_device(config)
    validate_config(config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    run_ppo(config, task_runner_class=JudgeMonitorTaskRunner)


@hydra.main(config_path=".", config_name="policy_rl_qwen7b", version_base=None)
def main(config: DictConfig) -> None:
    train(config)


if __name__ == "__main__":
    main()
