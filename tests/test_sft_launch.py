"""SFT on the generic launcher: torchrun per node for verl's SFT trainer, validate mode over a real rendezvous.

- requeue on the REAL Slurm: the time limit's signal requeues the SFT job once and every rank of the
  relaunch resumes from the checkpoint the first run saved (a stand-in trainer: verl's needs GPUs);
- the two-node validate run on a REAL Slurm (two virtual nodes on this machine, testkit.local_slurm):
  ``bash launch/sft_qwen14b.sh --validate``; each node's torchrun joins one gloo process group (2 nodes x
  1 process), loads the data through verl's MultiTurnSFTDataset with the tiny model's tokenizer, and the
  report says 2 nodes / 16 placeholder GPUs and every check passed;
- the same on one machine (``--local``, no Slurm), and its failure on data without a messages column;
- the dry run (torchrun per node, nothing written), the LoRA variants, the RL launcher's model-card check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.local_slurm import LocalSlurm

CLUSTER_ENV = """\
RMR1_CPUS_PER_GPU=1
RMR1_TIME=00:10:00
RMR1_SIGNAL_SECONDS=120
RMR1_MIN_FREE_GB=1
# gloo finds its address through the hostname, which every test node shares; name the nodes' interface
GLOO_SOCKET_IFNAME=eth0
"""
ROWS = 12


def _sft_rows(with_messages: bool = True) -> list[dict]:
    key = "messages" if with_messages else "conversation"
    return [{key: [{"role": "system", "content": "You judge two answers."},
                   {"role": "user", "content": f"Which answer is better, case {i}?"},
                   {"role": "assistant", "content": "<rubric>accuracy</rubric> <answer>[[A]]</answer>"}]}
            for i in range(ROWS)]


def _write_sft(folder: Path, with_messages: bool = True) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(_sft_rows(with_messages)), folder / "train.parquet")
    return folder


@pytest.fixture(scope="module")
def sft_inputs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("sft_inputs")
    return {"RMR1_MODEL_PATH": str(tiny_model_dir), "RMR1_SFT_DATA_DIR": str(_write_sft(work / "sft"))}


def _env(inputs: dict[str, str], output: Path, **extra: str) -> dict[str, str]:
    output.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMR1_", "SLURM_"))}
    return {**env, **inputs, "RMR1_OUTPUT_DIR": str(output), "RAY_AUTH_MODE": "disabled", **extra}


def _wrapper(repo_root: Path, recipe: str, args: list[str], env: dict[str, str], timeout: float):
    cmd = ["bash", str(repo_root / "launch" / f"{recipe}.sh"), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=repo_root)


def test_dry_run_shows_torchrun_per_node_and_writes_nothing(sft_inputs, repo_root, tmp_path) -> None:
    result = _wrapper(repo_root, "sft_qwen14b", ["--dry-run"], _env(sft_inputs, tmp_path / "out"), timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("== sft_qwen14b: resolved launch configuration")
    assert "#SBATCH --nodes=2\n" in result.stdout and "#SBATCH --gpus-per-node=8\n" in result.stdout
    assert """bash -c 'exec "$0" -m torch.distributed.run --node-rank "$SLURM_NODEID" "$@"'""" in result.stdout
    assert ('--nnodes 2 --nproc-per-node 8 --master-addr "$head_addr" --master-port 29500 \\\n'
            "  -m verl.trainer.sft_trainer --config-path") in result.stdout
    assert "trainer.resume_mode=auto" in result.stdout
    assert not (tmp_path / "out" / "rm_r1").exists()


def test_missing_sft_data_fails_before_anything(sft_inputs, repo_root, tmp_path) -> None:
    env = _env({**sft_inputs, "RMR1_SFT_DATA_DIR": str(tmp_path / "none")}, tmp_path / "out")
    result = _wrapper(repo_root, "sft_qwen7b", ["--dry-run"], env, timeout=180)
    assert result.returncode == 2
    assert "Not submitting sft_qwen7b: missing data file(s)" in result.stderr
    assert f"{tmp_path / 'none'}/train.parquet" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.cluster
def test_local_validate_runs_torchrun_and_checks_the_data(sft_inputs, repo_root, tmp_path) -> None:
    report_path = tmp_path / "validate.json"
    env = _env(sft_inputs, tmp_path / "out", RMR1_MIN_FREE_GB="1")
    args = ["--validate", "--local", "--local-gpus", "8", "--report", str(report_path)]
    result = _wrapper(repo_root, "sft_qwen7b", args, env, 400)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["ok"] and report["rendezvous"] == {"world_size": 1, "backend": "gloo"}
    checks = {c["name"]: c for c in report["nodes"][0]["checks"]}
    assert list(checks) == ["rendezvous", "data", "model", "checkpoint_disk"]
    assert f"MultiTurnSFTDataset tokenised {min(ROWS, 8)} row(s)" in checks["data"]["detail"]
    assert "validate PASSED: sft_qwen7b" in result.stdout


def test_data_without_messages_is_refused_before_the_job(sft_inputs, repo_root, tmp_path) -> None:
    data = _write_sft(tmp_path / "sft", with_messages=False)
    env = _env({**sft_inputs, "RMR1_SFT_DATA_DIR": str(data)}, tmp_path / "out")
    result = _wrapper(repo_root, "sft_qwen7b", ["--validate", "--local", "--local-gpus", "8"], env, 400)
    assert result.returncode == 2 and "has no 'messages' column" in result.stderr, result.stderr
    assert not (tmp_path / "out" / "rm_r1").exists()


def test_node_check_names_a_missing_messages_column(tmp_path) -> None:
    from omegaconf import OmegaConf

    from launch.validate.sft import _data

    data = _write_sft(tmp_path, with_messages=False) / "train.parquet"
    request = {"train_files": [str(data)], "val_files": [], "model": "Qwen/Qwen2.5-7B-Instruct",
               "data": OmegaConf.create({"messages_key": "messages"})}
    with pytest.raises(ValueError, match="has no messages column"):
        _data(request)


def test_lora_variants_are_one_node_full_recipes() -> None:
    from recipes.compose import compose_recipe

    for size, lr in (("7b", 1e-4), ("14b", 1e-4), ("32b", 1e-4)):
        cfg = compose_recipe(f"sft_qwen{size}_lora").cfg
        assert (cfg.model.lora_rank, cfg.model.lora_alpha, cfg.model.target_modules) == (64, 128, "all-linear")
        assert (cfg.trainer.nnodes, cfg.trainer.n_gpus_per_node, cfg.optim.lr) == (1, 8, lr)
        assert "hf_model" not in cfg.checkpoint.save_contents
        assert cfg.trainer.experiment_name == f"sft_qwen{size}_lora"


CARDS = [
    # no card at all (a folder made elsewhere): submitted, with a warning that nothing checks its prompt
    (None, "warning: [model-card]"),
    # an export of a reasoning-prompt run cannot start an instruct RL run
    ("reasoning", "card says prompt_variant reasoning but rl_qwen7b trains instruct"),
    # the right card passes
    ("instruct", "warning: [model-card]"),
]


@pytest.mark.parametrize(("variant", "message"), CARDS)
def test_rl_launcher_checks_the_sft_exports_card(tiny_model_dir, sample_data, repo_root, tmp_path, variant,
                                                 message) -> None:
    from infra.model_card import CardFacts, render

    model = tmp_path / "sft_hf"
    shutil.copytree(tiny_model_dir, model)
    if variant:
        facts = CardFacts(stage="sft", recipe="sft_qwen7b", step=3, prompt_variant=variant, prompt_version="cor-v1",
                          verdict_version="v")
        (model / "README.md").write_text(render(facts))
    env = _env({"RMR1_MODEL_PATH": str(model), "RMR1_DATA_DIR": str(sample_data)}, tmp_path / "out")
    result = _wrapper(repo_root, "rl_qwen7b", ["--dry-run"], env, timeout=180)
    if variant == "reasoning":
        assert result.returncode == 2 and message in result.stderr, result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert (message in result.stdout) is (variant is None)


# The real two-node Slurm run.


@pytest.fixture(scope="module")
def slurm(local_slurm_cluster) -> Iterator[LocalSlurm]:
    yield from local_slurm_cluster("rmr1-sft-", ("n1", "n2"), CLUSTER_ENV)


def test_two_node_sft_validate_passes_on_real_slurm(slurm, sft_inputs, repo_root, tmp_path) -> None:
    report_path = tmp_path / "validate.json"
    env = _env(sft_inputs, tmp_path / "out", **slurm.env, RMR1_ENV_FILE=str(slurm.state / "cluster.env"))
    result = _wrapper(repo_root, "sft_qwen14b", ["--validate", "--report", str(report_path)], env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["ok"], json.dumps(report, indent=1)
    assert (report["cluster"]["registered_nodes"], report["cluster"]["registered_gpus"]) == (2, 16)
    assert report["rendezvous"] == {"world_size": 2, "backend": "gloo"}
    assert sorted(n["slurm_node"] for n in report["nodes"]) == ["n1", "n2"]
    for node in report["nodes"]:
        assert [c["name"] for c in node["checks"]] == ["rendezvous", "data", "model", "checkpoint_disk"]
        assert node["checks"][0]["detail"].endswith("of 2; gloo all_reduce summed 2")
        assert "MultiTurnSFTDataset tokenised" in node["checks"][1]["detail"]
    assert report["consistency"]["ok"] and report["config"]["ok"]
    assert "#SBATCH --nodes=2\n" in result.stdout and "#SBATCH --gpus-per-node=8\n" in result.stdout
    assert "validate PASSED: sft_qwen14b" in result.stdout


# Stands in for verl.trainer.sft_trainer under torchrun: records each rank's view of the rendezvous and its argv.
FAKE_SFT = """\
import json, os, sys
record = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
record["argv"] = sys.argv[1:]
with open(os.environ["FAKE_RECORD"], "a") as handle:
    handle.write(json.dumps(record) + "\\n")
"""


@pytest.mark.cluster
@pytest.mark.parametrize("resumable", [False, True])
def test_train_mode_runs_the_driver_under_torchrun_on_every_rank(sft_inputs, repo_root, tmp_path, resumable) -> None:
    (tmp_path / "fake_sft.py").write_text(FAKE_SFT)
    out = tmp_path / "out"
    run_dir = out / "rm_r1" / "sft_qwen7b"
    if resumable:  # what verl's CheckpointHandler leaves after a save: the requeued job resumes from it
        (run_dir / "global_step_20").mkdir(parents=True)
        (run_dir / "latest_checkpointed_iteration.txt").write_text("20")
    record = tmp_path / "record.jsonl"
    env = _env(sft_inputs, out, PYTHONPATH=str(tmp_path), RMR1_DRIVER_MODULE="fake_sft", FAKE_RECORD=str(record))
    result = _wrapper(repo_root, "sft_qwen7b", ["--local", "--local-gpus", "2"], env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = sorted((json.loads(line) for line in record.read_text().splitlines()), key=lambda r: r["RANK"])
    assert [(r["RANK"], r["WORLD_SIZE"], r["LOCAL_WORLD_SIZE"]) for r in ranks] == [("0", "2", "2"), ("1", "2", "2")]
    for rank in ranks:  # verl's SFT entry point gets the recipe, the pinned inputs and resume on requeue
        assert rank["argv"][:4] == ["--config-path", str(repo_root / "recipes"), "--config-name", "sft_qwen7b"]
        assert "trainer.resume_mode=auto" in rank["argv"]
    expected = "resumes from global_step_20" if resumable else "no checkpoint in"
    assert expected in result.stdout


# Requeue on the real Slurm: a stand-in for verl's SFT trainer "saves" global_step_10 on the first run and then
# trains on until the time limit's signal requeues the job; the relaunch must resume from that checkpoint.
FAKE_SFT_REQUEUE = """\
import json, os, sys, time
from pathlib import Path
restart, rank = int(os.environ.get("SLURM_RESTART_COUNT") or 0), int(os.environ["RANK"])
ckpt = Path(os.environ["FAKE_CKPT_DIR"])
resumable = (ckpt / "latest_checkpointed_iteration.txt").is_file()
if restart == 0 and rank == 0:
    (ckpt / "global_step_10").mkdir(parents=True, exist_ok=True)
    (ckpt / "latest_checkpointed_iteration.txt").write_text("10")
with open(os.environ["FAKE_RECORD"], "a") as handle:
    handle.write(json.dumps({"restart": restart, "rank": rank, "world": os.environ["WORLD_SIZE"],
                             "resumable": resumable, "argv": sys.argv[1:]}) + "\\n")
if restart == 0:
    time.sleep(3600)
"""


def test_sft_job_requeues_itself_and_resumes(slurm, sft_inputs, repo_root, tmp_path, monkeypatch) -> None:
    """The requeue signal is sent at once (``scancel --batch --signal=USR1``), as sbatch's --signal would be."""
    import re
    import time

    from launch.jobs.slurm import wait_for_job

    (tmp_path / "fake_sft_requeue.py").write_text(FAKE_SFT_REQUEUE)
    out = tmp_path / "out"
    ckpt = out / "rm_r1" / "sft_qwen14b"
    record = tmp_path / "record.jsonl"
    env = _env(sft_inputs, out, **slurm.env, RMR1_ENV_FILE=str(slurm.state / "cluster.env"),
               PYTHONPATH=str(tmp_path), RMR1_DRIVER_MODULE="fake_sft_requeue", RMR1_MAX_REQUEUES="1",
               FAKE_CKPT_DIR=str(ckpt), FAKE_RECORD=str(record))
    # one GPU per node: two ranks are enough to show every rank of the relaunch resumes
    result = _wrapper(repo_root, "sft_qwen14b", ["trainer.n_gpus_per_node=1"], env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    job_id = re.search(r"submitted job (\d+)", result.stdout).group(1)
    monkeypatch.setenv("SLURM_CONF", slurm.env["SLURM_CONF"])
    deadline = time.monotonic() + 240
    while (not record.is_file() or len(record.read_text().splitlines()) < 2) and time.monotonic() < deadline:
        time.sleep(1)  # both ranks of the first run started (rank 0 saved its checkpoint)
    sent = subprocess.run(["scancel", "--batch", "--signal=USR1", job_id], capture_output=True, text=True)
    assert sent.returncode == 0, sent.stderr
    final = wait_for_job(job_id, timeout=300)
    log = (ckpt / "launch" / f"sft_qwen14b-{job_id}.log").read_text()
    assert (final.state, final.restarts, final.exit_code) == ("COMPLETED", 1, 0), log
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    # 2 nodes x 1 process in each of the 2 runs
    assert sorted((r["restart"], r["rank"]) for r in runs) == [(run, rank) for run in (0, 1) for rank in range(2)]
    assert all(r["resumable"] for r in runs if r["restart"] == 1)
    assert all("trainer.resume_mode=auto" in r["argv"] and r["world"] == "2" for r in runs)
    assert "time limit near: requeueing job" in log
    assert "restart 1: trainer.resume_mode=auto resumes from global_step_10" in log
