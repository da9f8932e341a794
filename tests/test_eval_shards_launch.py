"""launch/eval.sh: the replica layout, the commands it would run (dry run), and the checks before sbatch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli_errors import run_cli
from infra.model_card import CardFacts, render
from launch.cluster_eval.cli import EvalSpec, main, placement


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    folder = tmp_path / "rl_qwen7b" / "hf"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}')
    (folder / "tokenizer.json").write_text("{}")
    facts = CardFacts(stage="rl", recipe="rl_qwen7b", step=61, prompt_variant="instruct", prompt_version="cor-v1",
                      verdict_version="verdict-v2")
    (folder / "README.md").write_text(render(facts))
    return folder


def _spec(replicas: int, tp: int, gpus: int = 8) -> EvalSpec:
    return EvalSpec(run_id="r", ckpt="m", benchmarks=["rewardbench"], out="o", python="py", repo=".", nodes=9,
                    gpus_per_node=gpus, tp=tp, replicas=replicas, backend="vllm", mode="eval")


LAYOUTS = [
    (8, 1, ["n1"] * 8),  # one node of 8 single-GPU replicas
    (4, 2, ["n1"] * 4),  # TP 2: four replicas per node
    (6, 4, ["n1", "n1", "n2", "n2", "n3", "n3"]),  # TP 4: two per node, the next node after two
    (3, 8, ["n1", "n2", "n3"]),  # TP 8: a node each
]


@pytest.mark.parametrize(("replicas", "tp", "nodes"), LAYOUTS)
def test_replicas_fill_a_node_before_the_next(replicas: int, tp: int, nodes: list[str]) -> None:
    assert placement(_spec(replicas, tp), ["n1", "n2", "n3"]) == nodes


def test_dry_run_prints_every_step_and_writes_nothing(model: Path, repo_root: Path, tmp_path: Path) -> None:
    cmd = ["bash", str(repo_root / "launch" / "eval.sh"), "--ckpt", str(model), "--benchmarks", "rewardbench,rmbench",
           "--nodes", "2", "--tp", "2", "--time", "2:00:00", "--dry-run"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "replicas      8 x 2 GPU(s) (vllm, prefix caching on) on 2 node(s) of 8 GPUs" in out
    assert "#SBATCH --nodes=2\n" in out and "#SBATCH --gpus-per-node=8\n" in out and "#SBATCH --time=2:00:00\n" in out
    assert 'srun --exact --nodes=1 --ntasks=1 --nodelist="${nodes[1]}" --gres=gpu:2' in out  # replicas 4-7: node 2
    assert "--shard 0/8" in out and "--shard 7/8" in out
    assert "--tensor-parallel-size 2" in out and "--benchmarks rewardbench,rmbench" in out
    eval_dir = model.parent / "hf-eval"
    assert f"merge-caches --out {eval_dir}/generations.jsonl" in out
    assert f"--out {eval_dir} --cache {eval_dir}/generations.jsonl\n" in out  # the re-scoring run
    assert f"launch.model_card {model} --eval {eval_dir}/rewardbench/summary.json" in out
    assert not eval_dir.exists()


BAD = [
    # not an exported folder
    ("no_config", [], "is not a Hugging Face model folder"),
    # no card and no --variant: the judge prompt is unknown
    ("no_card", [], "has no model card naming rm_r1.prompt_variant"),
    # a benchmark without a CLI
    ("ok", ["--benchmarks", "rewardbench,nosuch"], "benchmark(s) nosuch"),
    # TP 3 does not divide 8 GPUs
    ("ok", ["--tp", "3"], "--tp 3 divides --gpus-per-node 8"),
    # more replicas than GPUs
    ("ok", ["--replicas", "9"], "--replicas 9 between 1 and 8"),
]


@pytest.mark.parametrize(("case", "flags", "message"), BAD)
def test_bad_requests_fail_before_sbatch(model: Path, capsys, case: str, flags: list[str], message: str) -> None:
    if case == "no_config":
        (model / "config.json").unlink()
    if case == "no_card":
        (model / "README.md").unlink()
    assert run_cli(main, ["--ckpt", str(model), "--dry-run", *flags], prog="launch/eval.sh") == 2
    err = capsys.readouterr().err
    assert err.startswith("launch/eval.sh: error: Not submitting the eval: missing ") and message in err, err
    assert err.count("\n") == 1


def test_the_request_is_checked_against_the_partition_before_anything(model: Path, tmp_path: Path, capsys,
                                                                      monkeypatch) -> None:
    """Issue 24: --validate with the default 8 CPUs per GPU on 8-CPU nodes was submitted and pended for ever."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sinfo").write_text("#!/bin/sh\nprintf 'n1|debug*|8|gpu:8|infinite\\n'\n")
    (bin_dir / "sinfo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    assert run_cli(main, ["--ckpt", str(model), "--validate", "--dry-run"], prog="launch/eval.sh") == 2
    err = capsys.readouterr().err
    assert "the eval asks for 1 node(s) with 8 GPUs and 64 CPUs each" in err and "pass --cpus-per-gpu 1" in err
    assert err.count("\n") == 1 and not (model.parent / "hf-eval").exists()


def test_a_pasted_key_is_refused_and_never_printed(model: Path, capsys) -> None:
    """Issue 25 item 7: a key given to --api-key-env (instead of its variable's name) was echoed in the commands."""
    key = "sk-abcdef0123456789"
    assert run_cli(main, ["--ckpt", str(model), "--dry-run", "--", "--api-key-env", key], prog="launch/eval.sh") == 2
    captured = capsys.readouterr()
    assert key not in captured.out + captured.err and "must be the NAME of an environment variable" in captured.err


# The real thing on a two-node Slurm (testkit.local_slurm): one replica per node with the tiny model on CPU
# (hf backend: the test machine has no vLLM), merged and re-scored, equal to one single-process run.


@pytest.fixture(scope="module")
def slurm(local_slurm_cluster):
    yield from local_slurm_cluster("rmr1-eval-", ("n1", "n2"),
                                   "RMR1_CPUS_PER_GPU=1\nRMR1_TIME=00:10:00\nRMR1_SIGNAL_SECONDS=120\n")


def test_two_replicas_on_real_slurm_equal_a_single_run(slurm, tiny_model_dir, repo_root, tmp_path) -> None:
    import json
    import os
    import shutil

    model = tmp_path / "rl_run" / "hf"
    shutil.copytree(tiny_model_dir, model)
    facts = CardFacts(stage="rl", recipe="rl_qwen7b", step=1, prompt_variant="instruct", prompt_version="cor-v1",
                      verdict_version="verdict-v2")
    (model / "README.md").write_text(render(facts))
    data = repo_root / "preflight" / "samples" / "rewardbench_sample.jsonl"
    judge = ["--data", f"rewardbench={data}", "--max-new-tokens", "8", "--device", "cpu", "--batch-size", "8"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMR1_", "SLURM_"))}
    env |= {**slurm.env, "RMR1_ENV_FILE": str(slurm.state / "cluster.env")}
    cmd = ["bash", str(repo_root / "launch" / "eval.sh"), "--ckpt", str(model), "--backend", "hf", "--nodes", "2",
           "--tp", "8", "--wait", "--", *judge]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(hf) on 2 node(s)" in done.stdout  # no "prefix caching on" for a backend without it (issue 24)
    assert "scores of " in done.stdout and "  rewardbench: " in done.stdout  # --wait prints the merged scores
    log = next((model.parent / "hf-eval" / "launch").glob("eval-*.log")).read_text()
    assert "replica 0/2 on n1" in log and "replica 1/2 on n2" in log  # one replica per node
    assert "merged 2 shard cache(s)" in log
    single = tmp_path / "single"
    argv = [str(repo_root / "eval" / "run_all.py"), "--ckpt", str(model), "--benchmarks", "rewardbench", "--backend",
            "hf", "--no-progress", "--no-plots", "--out", str(single), *judge]
    assert subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                          timeout=600, cwd=repo_root).returncode == 0
    merged = json.loads((model.parent / "hf-eval" / "rewardbench" / "summary.json").read_text())
    alone = json.loads((single / "rewardbench" / "summary.json").read_text())
    for key in ("score", "scores", "position", "failures"):
        assert merged[key] == alone[key], key
    from infra.model_card import read_block

    card = read_block(model)["eval"]["rewardbench"]
    assert card["score"] == alone["score"] and card["counts"] == {"items": 23, "judgments": 46}


# Ctrl-C while --wait follows the job (issue 25 item 3): a validate job is cancelled; a running eval is left
# running and the message says what it will still write. Slurm's commands are stand-ins that log their calls.
FAKE_SLURM = {
    "sbatch": 'echo "sbatch $*" >> "$FAKE_LOG"\necho 77',
    "scontrol": 'echo "JobId=77 JobName=eval JobState=PENDING Reason=Priority Restarts=0 ExitCode=0:0"',
    "scancel": 'echo "scancel $*" >> "$FAKE_LOG"',
    "sinfo": "exit 1",
}
CTRL_C = [
    # an eval keeps running and will rewrite the card: say so, and how to stop it
    ([], "keeps running: it will write the reports to {out} and the scores into {model}/README.md; stop it "
         "with scancel 77.", False),
    # a validate job is only a check: cancel it
    (["--validate"], "interrupted: cancelled Slurm job 77 (eval validate); nothing else is left queued.", True),
]


@pytest.mark.parametrize(("flags", "message", "cancelled"), CTRL_C)
def test_ctrl_c_while_waiting_says_what_happens_to_the_job(model: Path, repo_root: Path, tmp_path: Path,
                                                           flags: list[str], message: str, cancelled: bool) -> None:
    from testkit.signals import ctrl_c_at

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKE_SLURM.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "calls.log"),
           "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "launch.cluster_eval.cli", "--ckpt", str(model), "--wait", *flags]
    proc = ctrl_c_at(argv, "[launch] job 77: PENDING", env=env, cwd=repo_root)
    err = proc.stderr
    assert proc.returncode == 130
    assert err.strip().endswith(message.format(out=model.parent / "hf-eval", model=model)), err
    calls = (tmp_path / "calls.log").read_text()
    assert ("scancel 77" in calls) is cancelled
