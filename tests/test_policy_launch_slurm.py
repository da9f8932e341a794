"""The policy-RL launchers' validate mode on a REAL Slurm (testkit/local_slurm.py: four virtual nodes, fake GPUs).

Three validate jobs are submitted at once through the wrappers, as a user runs them, and run side by side:
``policy_rl_qwen7b`` with the judge colocated (1 node), the same recipe with ``judge=standalone`` (the judge's
own node: 2 nodes, 16 GPUs) and the scalar-RM baseline ``policy_rl_qwen7b_scalar`` (1 node). The tiny model
stands in for the policy, the judge and the scalar RM; the policy data is built from toy pairs by
``build_parquet --policy``. Each JSON report must say the cluster registered the nodes and GPUs the recipe
asks for, every node loaded the recipe's reward and read its data and model, and the config is valid.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data_prep.build_parquet import cli as build_cli
from testkit.local_slurm import LocalSlurm

NODES = ("n1", "n2", "n3", "n4")  # 1 + 2 + 1 nodes: the three jobs run at once
# Cluster settings for a 2-core test machine: 1 CPU per placeholder GPU (nodes declare 8 CPUs), one Ray CPU.
CLUSTER_ENV = """\
RMR1_CPUS_PER_GPU=1
RMR1_RAY_NUM_CPUS=1
RMR1_TIME=00:10:00
RMR1_MIN_FREE_GB=1
RAY_gcs_rpc_server_reconnect_timeout_s=5
"""
JUDGE_LOADED = ("pkg://reward_fns.judge_reward:compute_score loaded by verl (async; it asks the served judge at "
                "run time)")
SCALAR_RM = "no custom reward function: verl scores with the reward model's classifier"
# name: (wrapper, overrides, (nodes, GPUs) the job asks and registers, the reward check's detail)
RUNS: dict[str, tuple[str, list[str], tuple[int, int], str]] = {
    "colocated": ("policy_rl_qwen7b", [], (1, 8), JUDGE_LOADED),
    "standalone": ("policy_rl_qwen7b", ["judge=standalone"], (2, 16), JUDGE_LOADED),
    "scalar": ("policy_rl_qwen7b_scalar", [], (1, 8), SCALAR_RM),
}


@pytest.fixture(scope="module")
def slurm(local_slurm_cluster) -> Iterator[LocalSlurm]:
    yield from local_slurm_cluster("rmr1-policy-", NODES, CLUSTER_ENV)


@pytest.fixture(scope="module")
def validations(slurm: LocalSlurm, tiny_model_dir: Path, repo_root: Path,
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Submit the three validate runs at once, wait for all; per run its output and its one JSON report."""
    work = tmp_path_factory.mktemp("policy")
    pairs = work / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"id": f"p{i}", "source": "toy", "prompt": f"Count to {i}.",
                                         "chosen": " ".join(map(str, range(1, i + 2))), "rejected": "No."}) + "\n"
                             for i in range(300)))
    assert build_cli(["--policy", "--inputs", str(pairs), "--out", str(work / "data"), "--no-progress"]) == 0
    model = str(tiny_model_dir)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RMR1_", "SLURM_"))} | slurm.env | {
        "RMR1_ENV_FILE": str(slurm.state / "cluster.env"), "RMR1_POLICY_DATA_DIR": str(work / "data"),
        "RMR1_POLICY_PATH": model, "RMR1_JUDGE_PATH": model, "RMR1_SCALAR_RM_PATH": model}
    started = {}
    for name, (wrapper, overrides, _, _) in RUNS.items():
        out = work / name
        out.mkdir()
        # each job's Ray keeps its own (short: socket paths) temp dir
        args = ["--validate", "--ray-tmpdir", str(slurm.state / f"ray-{name}"), *overrides]
        started[name] = (out, subprocess.Popen(["bash", str(repo_root / "launch" / f"{wrapper}.sh"), *args],
                                               env=base | {"RMR1_OUTPUT_DIR": str(out)}, cwd=repo_root,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = {}
    for name, (out, process) in started.items():
        stdout, stderr = process.communicate(timeout=500)
        reports = sorted(out.glob("rm_r1_policy/*/launch/validate-*.json"))
        results[name] = {"returncode": process.returncode, "stdout": stdout, "stderr": stderr,
                         "reports": [json.loads(path.read_text()) for path in reports]}
    return results


@pytest.mark.parametrize("name", list(RUNS))
def test_policy_recipe_validates_on_real_slurm(name: str, validations: dict[str, dict[str, Any]]) -> None:
    wrapper, _, (nodes, gpus), reward = RUNS[name]
    run = validations[name]
    assert run["returncode"] == 0, run["stdout"] + run["stderr"]
    assert len(run["reports"]) == 1, run["stdout"]
    report = run["reports"][0]
    assert report["ok"], json.dumps(report, indent=1)
    cluster = report["cluster"]
    assert (cluster["registered_nodes"], cluster["registered_gpus"]) == (nodes, gpus)
    assert (cluster["expected_nodes"], cluster["expected_gpus"]) == (nodes, gpus)
    assert len({n["slurm_node"] for n in report["nodes"]}) == nodes  # one check per Slurm node
    for node in report["nodes"]:
        assert node["ok"] and [c["name"] for c in node["checks"]] == ["reward", "data", "model", "reward_model",
                                                                       "checkpoint_disk"]
        checks = {c["name"]: c["detail"] for c in node["checks"]}
        assert checks["reward"] == reward  # the recipe's own reward, loaded through verl on every node
        assert "train.parquet" in checks["data"] and "val.parquet" in checks["data"]
    assert report["consistency"]["ok"] and report["config"]["ok"]
    assert report["config"]["recipe_report"]["plan"]["nnodes"] == 1  # the trainer's; a standalone judge's on top
    assert f"#SBATCH --nodes={nodes}\n" in run["stdout"] and "#SBATCH --gpus-per-node=8\n" in run["stdout"]
    assert re.search(r"^RMR1_DRIVER_MODULE +recipes\.policy_trainer ", run["stdout"], re.MULTILINE)
    assert re.search(rf"^validate PASSED: {wrapper} \(\d+ warning\(s\)\)$", run["stdout"], re.MULTILINE)
