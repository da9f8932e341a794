"""Validate mode's pieces without a cluster: the per-node checks, the launcher's config checks, the report verdict."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from launch.validate.node import check_node
from launch.validate.rl import ClusterState, assemble, launch_problems, state_of, summary
from launch.validate.spec import JobSpec


@pytest.fixture(scope="module")
def good_request(tiny_model_dir: Path, sample_data: Path, tmp_path_factory: pytest.TempPathFactory,
                 repo_root: Path) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("node_checks")
    (work / "out").mkdir()
    data = sample_data / "instruct"
    return {
        "repo": str(repo_root),
        "reward": {"path": "pkg://reward_fns.score", "name": "compute_score", "reward_kwargs": {}},
        "train_files": [str(data / "train.parquet")],
        "val_files": [str(data / "val.parquet")],
        "model": str(tiny_model_dir),
        "model_is_hub_id": False,
        "checkpoint_dir": str(work / "out" / "rm_r1" / "rl_qwen7b"),
        "output_root": str(work / "out"),
        "min_free_gb": 0,
        "need_source": "test",
    }


def test_a_good_node_passes_every_check(good_request: dict[str, Any]) -> None:
    result = check_node(good_request)
    assert result["ok"], result
    details = {c["name"]: c["detail"] for c in result["checks"]}
    assert details["reward"] == "pkg://reward_fns.score:compute_score loaded by verl; right verdict +1, wrong -1"
    assert details["data"].startswith("train.parquet ") and "val.parquet" in details["data"]
    assert "qwen2 (Qwen2ForCausalLM)" in details["model"]
    assert result["git_commit"] and result["project_version"] and result["verl_version"] == "0.9.1"


def _broken_model(request: dict[str, Any], tmp: Path) -> dict[str, Any]:
    model = tmp / "model_without_tokenizer"
    model.mkdir()
    shutil.copy(Path(request["model"]) / "config.json", model)
    return {"model": str(model)}


BROKEN = [
    # a reward module verl cannot load
    ("reward", lambda r, t: {"reward": {**r["reward"], "path": "pkg://reward_fns.nope"}}, "ModuleNotFoundError"),
    # a reward function that does not exist
    ("reward", lambda r, t: {"reward": {**r["reward"], "name": "nope"}}, "AttributeError"),
    # a data file that is not there on this node
    ("data", lambda r, t: {"val_files": [str(t / "val.parquet")]}, "No such file"),
    # a data file that is not parquet
    ("data", lambda r, t: {"val_files": [r["model"] + "/config.json"]}, "ArrowInvalid"),
    # a model folder without a tokenizer
    ("model", _broken_model, "has no tokenizer file"),
    # not enough disk for the kept checkpoints
    ("checkpoint_disk", lambda r, t: {"min_free_gb": 10**9}, "GB needed (test); free space"),
    # an output folder that does not exist here
    ("checkpoint_disk", lambda r, t: {"output_root": str(t / "gone")}, "No such file"),
]


@pytest.mark.parametrize(("check", "change", "message"), BROKEN)
def test_a_broken_input_fails_only_its_check(good_request, tmp_path: Path, check: str, change, message: str) -> None:
    result = check_node({**good_request, **change(good_request, tmp_path)})
    failed = {c["name"]: c["detail"] for c in result["checks"] if not c["ok"]}
    assert not result["ok"] and list(failed) == [check]
    assert message in failed[check]


def test_a_hub_model_is_reported_not_checked(good_request: dict[str, Any]) -> None:
    result = check_node({**good_request, "model": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "model_is_hub_id": True})
    model = next(c for c in result["checks"] if c["name"] == "model")
    assert model["ok"] and "downloads it at start" in model["detail"]


def test_a_served_reward_model_is_checked_like_the_model(good_request: dict[str, Any], tmp_path: Path) -> None:
    """A judge or scalar RM verl serves (reward.reward_model) was never checked: a missing one failed at job start."""
    served = {**good_request, "reward_model": good_request["model"], "reward_model_is_hub_id": False}
    assert [c["name"] for c in check_node(served)["checks"]] == ["reward", "data", "model", "reward_model",
                                                                 "checkpoint_disk"]
    missing = check_node({**served, "reward_model": str(tmp_path / "no_judge")})
    failed = {c["name"]: c["detail"] for c in missing["checks"] if not c["ok"]}
    assert list(failed) == ["reward_model"] and "No such file" in failed["reward_model"]
    hub = check_node({**served, "reward_model": "org/judge", "reward_model_is_hub_id": True})
    assert hub["ok"] and "hub id org/judge" in {c["name"]: c["detail"] for c in hub["checks"]}["reward_model"]


def _spec(**changes: Any) -> JobSpec:
    base = dict(run_id="r", recipe="rl_qwen14b", overrides=[], backend="slurm", repo="/repo", nnodes=2,
                gpus_per_node=8, log_dir="/l", output_dir="/o/x/y", output_root="/o", report="/l/v.json")
    return JobSpec(**{**base, **changes})


def _cfg(**trainer: Any) -> Any:
    return OmegaConf.create({
        "trainer": {"nnodes": 2, "n_gpus_per_node": 8, "resume_mode": "auto", **trainer},
        "ray_kwargs": {"ray_init": {"num_cpus": None}},
    })


LAUNCH_PROBLEMS = [
    # as submitted
    ({}, {}, []),
    # the recipe changed after submission
    ({}, {"nnodes": 4}, ["the recipe now declares 4x8 GPUs"]),
    # resume off while the job requeues itself
    ({}, {"resume_mode": "disable"}, ["trainer.resume_mode is 'disable'"]),
    # resume off is fine when requeue is off
    ({"requeue": False}, {"resume_mode": "disable"}, []),
]


@pytest.mark.parametrize(("spec_changes", "trainer", "starts"), LAUNCH_PROBLEMS)
def test_launch_level_config_checks(spec_changes, trainer, starts) -> None:
    problems = launch_problems(_spec(**spec_changes), _cfg(**trainer))
    assert [p[: len(s)] for p, s in zip(problems, starts, strict=True)] == starts


def test_ray_num_cpus_must_stay_null_when_attaching() -> None:
    cfg = _cfg()
    cfg.ray_kwargs.ray_init.num_cpus = 8
    assert "must stay null when attaching" in launch_problems(_spec(), cfg)[0]


def _node(name: str, ok: bool = True, commit: str = "abc") -> dict[str, Any]:
    return {"slurm_node": name, "hostname": "h", "ok": ok, "git_commit": commit, "project_version": "0.1.0",
            "checks": [{"name": "reward", "ok": ok, "detail": "d" if ok else "broken"}]}


RECIPE_OK = {"ok": True, "problems": []}
VERDICTS = [
    # everything as declared
    (ClusterState(2, 16, 2, ()), [_node("n1"), _node("n2")], RECIPE_OK, True),
    # a node never registered
    (ClusterState(1, 8, 1, ()), [_node("n1")], RECIPE_OK, False),
    # a node failed a check
    (ClusterState(2, 16, 2, ()), [_node("n1"), _node("n2", ok=False)], RECIPE_OK, False),
    # the nodes run different code (a stale checkout on one of them)
    (ClusterState(2, 16, 2, ()), [_node("n1"), _node("n2", commit="def")], RECIPE_OK, False),
    # the recipe has an error
    (ClusterState(2, 16, 2, ()), [_node("n1"), _node("n2")], {"ok": False, "problems": []}, False),
]


@pytest.mark.parametrize(("state", "nodes", "recipe", "ok"), VERDICTS)
def test_report_verdict(state: ClusterState, nodes, recipe, ok: bool) -> None:
    report = assemble(_spec(), state, nodes, recipe, [])
    assert report["ok"] is ok and report["schema"] == "launch-validate-v1"
    assert summary(report).endswith(f"validate {'PASSED' if ok else 'FAILED'}: rl_qwen14b (0 warning(s))")


def test_cluster_state_counts_alive_nodes_only() -> None:
    nodes = [
        {"Alive": True, "Resources": {"GPU": 8.0, "CPU": 1.0}, "NodeManagerHostname": "a", "NodeManagerAddress": "1"},
        {"Alive": False, "Resources": {"GPU": 8.0, "CPU": 1.0}, "NodeManagerHostname": "b", "NodeManagerAddress": "2"},
    ]
    assert state_of(nodes) == ClusterState(1, 8, 1, ("a 1",))
