"""Policy-RL recipes: the judge run and its scalar-RM baseline compose against verl, differ only in the reward."""

from __future__ import annotations

import inspect
import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from data_prep.build_parquet import cli as build_cli
from recipes.compose import Composed, compose_recipe, flatten
from recipes.validate import check_composed
from testkit.recipe_checks import validate_recipe

ENV_VARS = ("RMR1_DATA_DIR", "RMR1_POLICY_DATA_DIR", "RMR1_POLICY_PATH", "RMR1_JUDGE_PATH", "RMR1_JUDGE_URL",
            "RMR1_SCALAR_RM_PATH", "RMR1_OUTPUT_DIR", "RMR1_MODEL_PATH")
JUDGE, SCALAR = "policy_rl_qwen7b", "policy_rl_qwen7b_scalar"


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Composed]]:
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_VARS:
            mp.delenv(name, raising=False)
        mp.chdir(tmp_path_factory.mktemp("no_data"))  # relative defaults never reach the checkout's data/
        mp.setenv("RMR1_JUDGE_URL", "http://judge.example:8000/v1")
        yield {
            JUDGE: compose_recipe(JUDGE),
            SCALAR: compose_recipe(SCALAR),
            "standalone": compose_recipe(JUDGE, ["judge=standalone"]),
            "external": compose_recipe(JUDGE, ["judge=external"]),
            "group": compose_recipe(JUDGE, ["reward_mode=group"]),
        }


@pytest.mark.parametrize("name", [JUDGE, SCALAR, "standalone", "external", "group"])
def test_recipe_validates_against_verl(name: str, composed: dict[str, Composed]) -> None:
    report = check_composed(composed[name])
    assert [str(p) for p in report.errors] == []
    assert {p.check for p in report.problems} <= {"manifest"}  # no data built in this folder


def test_the_two_runs_differ_only_in_the_reward(composed: dict[str, Composed]) -> None:
    judge, scalar = flatten(composed[JUDGE].cfg), flatten(composed[SCALAR].cfg)
    differ = {k for k in judge.keys() | scalar.keys() if judge.get(k) != scalar.get(k)}
    named = {"trainer.experiment_name", "trainer.default_local_dir", "trainer.rollout_data_dir",
             "trainer.validation_data_dir"}  # paths follow the experiment name
    assert differ - named and all(k.startswith("reward.") for k in differ - named)
    for key in ("actor_rollout_ref.model.path", "data.train_files", "data.train_batch_size",
                "actor_rollout_ref.rollout.n", "trainer.total_training_steps", "trainer.n_gpus_per_node"):
        assert judge[key] == scalar[key], key


@pytest.mark.parametrize(
    ("name", "key", "expected"),
    [
        (JUDGE, "reward.reward_model.enable", True),  # verl launches the judge servers
        (JUDGE, "reward.reward_model.enable_resource_pool", False),  # colocated by default
        ("standalone", "reward.reward_model.enable_resource_pool", True),  # its own GPUs
        ("external", "reward.reward_model.enable", False),  # a served judge: verl starts none
        ("external", "reward.custom_reward_function.reward_kwargs.judge_url", "http://judge.example:8000/v1"),
        (SCALAR, "reward.custom_reward_function.path", None),  # verl's discriminative RM path
        (JUDGE, "reward.custom_reward_function.reward_kwargs.max_tokens", 8192),  # CoR traces, not verl's 2,048
        (JUDGE, "reward.custom_reward_function.reward_kwargs.max_answer_tokens", 2048),  # the policy's budget
    ],
)
def test_reward_settings(name: str, key: str, expected: object, composed: dict[str, Composed]) -> None:
    assert OmegaConf.select(composed[name].cfg, key) == expected  # resolved, as verl reads it


def test_judge_budget_holds_a_cor_judgment(composed: dict[str, Composed]) -> None:
    rollout = composed[JUDGE].cfg.reward.reward_model.rollout
    assert rollout.response_length >= 8192  # RM-R1's response budget
    assert rollout.max_model_len >= rollout.prompt_length + rollout.response_length
    assert rollout.max_num_batched_tokens >= rollout.max_model_len  # one judgment per prefill chunk
    # the prompt holds the template, the question and two answers capped at the policy's response length
    data = composed[JUDGE].cfg.data
    assert rollout.prompt_length >= data.max_prompt_length + 2 * data.max_response_length


def test_judge_reward_loads_with_resolved_kwargs(composed: dict[str, Composed]) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    from reward_fns.judge_reward import compute_score

    loaded = get_custom_reward_fn(composed[JUDGE].cfg)
    assert loaded.args[0] is compute_score
    assert loaded.args[1]["cache_dir"].endswith("policy_rl_qwen7b/judge_cache")


def test_group_mode_loads_verls_manager_and_the_group_reward(composed: dict[str, Composed]) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls

    cfg = composed["group"].cfg
    manager = resolve_reward_manager_cls(cfg)
    assert (manager.__module__, manager.__name__) == ("reward_fns.judge_group", "GroupRewardManager")
    loaded = get_custom_reward_fn(cfg)  # verl may load the file as a second module object: compare by name
    assert (loaded.args[0].__module__, loaded.args[0].__name__) == ("reward_fns.judge_group", "compute_score")
    assert loaded.args[1]["group_size"] == cfg.actor_rollout_ref.rollout.n == 8


def test_policy_data_manifest_matches_both_recipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"id": f"p{i}", "source": "toy", "prompt": f"Count to {i}.",
                                         "chosen": "1 2", "rejected": "No."}) + "\n" for i in range(300)))
    assert build_cli(["--policy", "--inputs", str(pairs), "--out", str(tmp_path / "data"), "--no-progress"]) == 0
    monkeypatch.setenv("RMR1_POLICY_DATA_DIR", str(tmp_path / "data"))
    for name in (JUDGE, SCALAR):
        report = validate_recipe(name)
        assert report.errors == [] and report.problems == [], name


@pytest.mark.slow  # the launcher composes and checks the recipe, the driver composes it (fresh interpreters, ~30-60 s)
@pytest.mark.parametrize("recipe", [JUDGE, SCALAR])
def test_launch_wrapper_is_thin_and_its_driver_composes(recipe: str, repo_root: Path, tmp_path: Path) -> None:
    lines = (repo_root / "launch" / f"{recipe}.sh").read_text().splitlines()
    assert lines[1].startswith(f"# Usage: bash launch/{recipe}.sh") and "set -euo pipefail" in lines
    assert lines[-1] == (f'exec bash "$(dirname "${{BASH_SOURCE[0]}}")/submit.sh" {recipe} '
                         '--driver-module recipes.policy_trainer "$@"')
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"id": f"p{i}", "source": "toy", "prompt": f"Count to {i}.",
                                         "chosen": "1 2", "rejected": "No."}) + "\n" for i in range(300)))
    assert build_cli(["--policy", "--inputs", str(pairs), "--out", str(tmp_path / "data"), "--no-progress"]) == 0
    (tmp_path / "out").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS} | {
        "RMR1_POLICY_DATA_DIR": str(tmp_path / "data"), "RMR1_OUTPUT_DIR": str(tmp_path / "out")}
    result = subprocess.run(["bash", str(repo_root / "launch" / f"{recipe}.sh"), "--dry-run"], env=env,
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"== {recipe}: resolved launch configuration")
    assert f"{tmp_path / 'data'}/policy/train.parquet  [RMR1_POLICY_DATA_DIR" in result.stdout
    # the job's driver line, as the script runs it, composes and resolves against verl's config (--cfg job);
    # the entry is one module for both recipes, so resolving it once (the judge's) covers the driver
    driver = next(line for line in result.stdout.splitlines() if " -m recipes.policy_trainer " in line)
    command = shlex.split(driver.removesuffix("&"))
    assert command[1:6] == ["-m", "recipes.policy_trainer", "--config-path", str(repo_root / "recipes"),
                            "--config-name"] and command[6] == recipe
    if recipe != JUDGE:
        return
    composed = subprocess.run([*command, "--cfg", "job", "--resolve"], env=env, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
    assert composed.returncode == 0, composed.stderr
    cfg = OmegaConf.create(composed.stdout)
    assert (cfg.trainer.experiment_name, cfg.trainer.use_v1) == (recipe, False)
    assert cfg.data.train_files == f"{tmp_path / 'data'}/policy/train.parquet"


def test_the_entry_point_runs_verls_ppo_with_the_monitored_trainer(composed: dict[str, Composed],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from verl.trainer import main_ppo_v0
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer

    from recipes import policy_trainer

    runs: list[object] = []
    monkeypatch.setattr(policy_trainer, "run_ppo", lambda config, task_runner_class: runs.append(task_runner_class))
    policy_trainer.train(composed[JUDGE].cfg.copy())  # verl's own config checks pass on the composed recipe
    assert runs == [policy_trainer.JudgeMonitorTaskRunner]
    # in its actor, the runner points the name verl's run builds its trainer by at the monitored subclass
    verl_run = main_ppo_v0.TaskRunner.__ray_actor_class__.run
    assert inspect.getclosurevars(verl_run).globals["RayPPOTrainer"] is RayPPOTrainer
    built: list[type] = []
    monkeypatch.setattr(main_ppo_v0, "RayPPOTrainer", RayPPOTrainer)  # restored after the test
    monkeypatch.setattr(main_ppo_v0.TaskRunner.__ray_actor_class__, "run",
                        lambda self, config: built.append(main_ppo_v0.RayPPOTrainer))
    policy_trainer.JudgeMonitorTaskRunner.__ray_actor_class__().run(composed[JUDGE].cfg)
    assert built == [policy_trainer.JudgeMonitorTrainer]


def test_the_entry_point_refuses_the_v1_trainer(composed: dict[str, Composed], capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from recipes import policy_trainer

    monkeypatch.setattr(policy_trainer, "run_ppo", lambda *args, **kwargs: pytest.fail("must not start"))
    cfg = composed[JUDGE].cfg.copy()
    cfg.trainer.use_v1 = True
    with pytest.raises(SystemExit) as refused:
        policy_trainer.train(cfg)
    assert refused.value.code == 2
    assert capsys.readouterr().err == (
        "python -m recipes.policy_trainer: error: trainer.use_v1=true runs verl's v1 trainer, which this entry point "
        "cannot monitor; drop the override (the policy recipes set trainer.use_v1=false).\n")


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        (JUDGE, "loaded by verl (async; it asks the served judge at run time)"),  # needs its judge: load only
        (SCALAR, "no custom reward function: verl scores with the reward model's classifier"),
    ],
)
def test_the_launchers_node_check_accepts_both_rewards(name: str, detail: str, composed: dict[str, Composed]) -> None:
    from launch.validate.node import _reward

    section = OmegaConf.to_container(composed[name].cfg.reward.custom_reward_function, resolve=True)
    assert detail in _reward({"reward": section})


@pytest.mark.parametrize(
    ("name", "extra_nodes"),
    [
        (JUDGE, 0),  # colocated: the judge shares the trainer's GPUs
        ("external", 0),  # served elsewhere: no node of this job
        ("standalone", 1),  # its own node of 8 GPUs in the same Ray cluster: the job asks for it too
        (SCALAR, 0),  # the scalar RM runs inside the trainer's pool
    ],
)
def test_the_job_asks_for_a_standalone_judges_nodes(name: str, extra_nodes: int,
                                                    composed: dict[str, Composed]) -> None:
    from launch.validate.spec import nodes_of

    cfg = composed[name].cfg
    assert nodes_of(cfg) == (cfg.trainer.nnodes + extra_nodes, cfg.trainer.n_gpus_per_node)


def test_a_standalone_judge_with_other_gpus_per_node_is_refused(composed: dict[str, Composed]) -> None:
    from launch.errors import SlurmError
    from launch.validate.spec import nodes_of

    cfg = composed["standalone"].cfg.copy()
    cfg.reward.reward_model.n_gpus_per_node = 4  # Slurm asks the same GPUs on every node of one job
    with pytest.raises(SlurmError) as refused:
        nodes_of(cfg)
    assert "reward.reward_model.n_gpus_per_node is 4 but trainer.n_gpus_per_node is 8" in str(refused.value)


def test_the_echo_names_where_a_standalone_judges_node_comes_from(composed: dict[str, Composed]) -> None:
    """The echo said "2 node(s) [trainer.nnodes ...]" for a standalone judge: the second node is the judge's."""
    from launch.checks.echo import _resources_source
    from launch.checks.inputs import value_of

    def source(name: str) -> str:
        return _resources_source(composed[name], value_of(composed[name], "trainer.nnodes"))

    assert source(JUDGE) == "trainer.nnodes: default in recipes/size/7b.yaml"
    assert source("standalone") == ("trainer.nnodes: default in recipes/size/7b.yaml + reward.reward_model.nnodes 1 "
                                    "(standalone judge): default in recipes/judge/standalone.yaml")
