"""launch/pipeline.sh: every stage checked and rendered in one process before submission, each job after the previous.

The dry run runs the launchers' own checks in process (``launch.submit.prepare_recipe`` with ``pending``
naming what earlier stages write, ``launch.cluster_eval.cli.checked``, the CPU stages' requests) and prints
every job script; nothing reaches Slurm and nothing is written. The last test submits the README's chain
to the real local Slurm of 8-CPU nodes.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

import pytest

from infra.cli_errors import run_cli
from launch.pipeline import main

TEACHER = "--teacher-url http://127.0.0.1:9/v1 --teacher-model teacher --api-key-env RMR1_TEST_TEACHER_KEY"


def _args(repo_root: Path, model_dir: Path, *extra: str) -> list[str]:
    pairs = repo_root / "preflight" / "samples" / "pairs.jsonl"
    return ["--base-model", str(model_dir), "--data-args", f"--inputs {pairs} --val-size 0.2",
            "--distill-args", f"{TEACHER} --max-cost 5", *extra]


def _env(out: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMR1_", "SLURM_"))}
    return {**env, "RMR1_OUTPUT_DIR": str(out), "RMR1_TEST_TEACHER_KEY": "not-a-real-key", **extra}


@pytest.fixture(scope="module")
def qwen7b_dry_run(repo_root: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("chain")
    cmd = ["bash", str(repo_root / "launch" / "pipeline.sh"), "qwen7b",
           *_args(repo_root, tiny_model_dir, "--dry-run", "--", "--time", "2:00:00")]
    done = subprocess.run(cmd, env=_env(out), capture_output=True, text=True, timeout=900, cwd=out)
    return done, out


def _stage_lines(stdout: str) -> dict[str, str]:
    """``{stage: its sbatch line and job script}`` from the chain's output."""
    parts = re.split(r"^\[(\w+)\] ", stdout, flags=re.M)
    return {name: text.split("\ndry run:")[0] for name, text in zip(parts[1::2], parts[2::2], strict=True)}


def test_chain_order_and_dependencies(qwen7b_dry_run) -> None:
    done, out = qwen7b_dry_run
    assert done.returncode == 0, done.stderr
    assert "== qwen7b chain: data -> distill -> sft -> export_sft -> rl -> export_rl -> eval" in done.stdout
    lines = _stage_lines(done.stdout)
    assert list(lines) == ["data", "distill", "sft", "export_sft", "rl", "export_rl", "eval"]
    assert lines["data"].startswith("sbatch --parsable /") and "--dependency" not in lines["data"].splitlines()[0]
    previous = {"distill": "data", "sft": "distill", "export_sft": "sft", "rl": "export_sft",
                "export_rl": "rl", "eval": "export_rl"}
    for stage, before in previous.items():
        assert lines[stage].startswith(f"sbatch --parsable --dependency=afterok:<{before}> "), lines[stage][:200]
    for stage, text in lines.items():  # the flags after -- reach every stage (issue 24 item 1)
        assert "#SBATCH --time=2:00:00\n" in text, stage
    assert "dry run: nothing submitted" in done.stdout
    assert not (out / "rm_r1").exists() and not (out / "data").exists()


def test_each_stage_reads_what_the_previous_one_writes(qwen7b_dry_run, tiny_model_dir) -> None:
    done, out = qwen7b_dry_run
    lines = _stage_lines(done.stdout)
    data, sft_run = out / "data" / "rm_r1", out / "rm_r1" / "sft_qwen7b"
    assert f"build_parquet.py --out {data} --tokenizer {tiny_model_dir}" in lines["data"]
    assert "--variant instruct" in lines["data"] and "--distill-fraction 0.12" in lines["data"]
    assert f"distill.py --input {data}/instruct/distill.parquet --out {data}/sft" in lines["distill"]
    assert f"export RMR1_MODEL_PATH={tiny_model_dir}\n" in lines["sft"]
    assert f"--config-name sft_qwen7b data.train_files={data}/sft/train.parquet" in lines["sft"]
    assert f"launch.export {sft_run} --out {sft_run}/hf\n" in lines["export_sft"]
    assert "#SBATCH --mem=0\n" in lines["export_sft"] and "#SBATCH --cpus-per-task=16\n" in lines["export_sft"]
    assert f"export RMR1_MODEL_PATH={sft_run}/hf\n" in lines["rl"] and f"export RMR1_DATA_DIR={data}\n" in lines["rl"]
    assert "ray symmetric-run" in lines["rl"] and "torch.distributed.run" in lines["sft"]
    rl_run = out / "rm_r1" / "rl_qwen7b"
    assert f"launch.export {rl_run} --out {rl_run}/hf\n" in lines["export_rl"]
    assert f"--ckpt {rl_run}/hf --benchmarks rewardbench" in lines["eval"] and "--shard 0/8" in lines["eval"]


def test_ds_chain_has_no_distillation(repo_root, tiny_model_dir, tmp_path, capsys, monkeypatch) -> None:
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    pairs = repo_root / "preflight" / "samples" / "pairs.jsonl"
    argv = ["ds7b", "--base-model", str(tiny_model_dir), "--data-args", f"--inputs {pairs}", "--dry-run"]
    assert run_cli(main, argv, prog="launch/pipeline.sh") == 0
    lines = _stage_lines(capsys.readouterr().out)
    assert list(lines) == ["data", "rl", "export_rl", "eval"]
    assert "--variant reasoning" in lines["data"] and "--distill-fraction" not in lines["data"]
    assert f"export RMR1_MODEL_PATH={tiny_model_dir}\n" in lines["rl"] and "--config-name rl_ds7b" in lines["rl"]
    assert lines["rl"].startswith("sbatch --parsable --dependency=afterok:<data> ")


# Inputs that exist now are checked before anything: one sentence naming the stage, exit 2.
BAD = [
    # a pair file that is not there
    ("missing_pairs", "data: /nonexistent/pairs.jsonl does not exist"),
    # the teacher's key variable is unset
    ("no_key", "distill: $RMR1_TEST_TEACHER_KEY (named by --api-key-env) is not set"),
    # no teacher at all
    ("no_teacher", "--distill-args must name the teacher"),
    # a base model folder that is not there
    ("missing_base", "data: /nonexistent/base does not exist"),
    # starting at RL without an SFT export
    ("from_rl", "skips the SFT export but"),
    # the output folder does not exist
    ("no_out", "chain: output dir"),
    # a mix source given as a bare folder name that is not there (not owner/name, so not a hub id)
    ("missing_source_dir", "data: DIR does not exist"),
    # the README's placeholder left in as the teacher URL
    ("teacher_url_placeholder", "distill: --teacher-url 'URL' is not an http(s) URL"),
    # issue 25 item 7: the key itself pasted where its variable's name belongs (never repeated)
    ("pasted_key", "distill: --api-key-env must be the NAME of an environment variable holding the key"),
    # issue 25 item 5: an unbalanced quote in a pass-through flag
    ("unbalanced_quote", "--data-args has an unbalanced quote (no closing quotation); close every quote"),
]
PASTED_KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(("case", "message"), BAD)
def test_inputs_are_checked_before_submission(repo_root, tiny_model_dir, tmp_path, capsys, monkeypatch, case,
                                              message) -> None:
    env = _env(tmp_path / ("missing" if case == "no_out" else ""))
    if case == "no_key":
        del env["RMR1_TEST_TEACHER_KEY"]
    for key in [k for k in os.environ if k.startswith("RMR1_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    argv = ["qwen7b", *_args(repo_root, tiny_model_dir), "--dry-run"]
    if case == "missing_pairs":
        argv[4] = "--inputs /nonexistent/pairs.jsonl"
    if case == "no_teacher":
        argv[6] = "--max-cost 5"
    if case == "missing_base":
        argv[2] = "/nonexistent/base"
    if case == "from_rl":
        argv += ["--from", "rl"]
    if case == "missing_source_dir":
        argv[4] = "--mix rm_r1 --source skywork=DIR"
    if case == "teacher_url_placeholder":
        argv[6] = argv[6].replace(argv[6].split()[1], "URL", 1)
    if case == "pasted_key":
        argv[6] = argv[6].replace("RMR1_TEST_TEACHER_KEY", PASTED_KEY)
    if case == "unbalanced_quote":
        argv[4] = "--inputs 'my pairs.jsonl"
    assert run_cli(main, argv, prog="launch/pipeline.sh") == 2
    captured = capsys.readouterr()
    assert PASTED_KEY not in captured.out + captured.err
    prefix = "launch/pipeline.sh: error: " + ("" if case == "unbalanced_quote" else "Not submitting the qwen7b chain: ")
    assert captured.err.startswith(prefix)
    assert message in captured.err and captured.err.count("\n") == 1, captured.err
    assert "[data]" not in captured.out  # nothing printed as submitted


# Submission for real, against stand-in Slurm commands: each sbatch call is recorded and answered with the next
# job id, so the test sees the ids flow from one stage into the next stage's --dependency.
FAKE_SBATCH = """#!/usr/bin/env bash
set -euo pipefail
n=$(( $(wc -l < "$FAKE_SLURM_LOG" 2>/dev/null || echo 0) + 100 ))
printf '%s\\n' "$*" >> "$FAKE_SLURM_LOG"
echo "$n"
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
echo "slurm_load_jobs error: Invalid job id specified" >&2
exit 1
"""


def test_submitted_chain_passes_each_job_id_to_the_next(repo_root, tiny_model_dir, tmp_path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scontrol", FAKE_SCONTROL), ("sinfo", "#!/bin/sh\nexit 1\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "sbatch.log"
    env = _env(out, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_SLURM_LOG=str(log), RAY_AUTH_MODE="disabled")
    cmd = ["bash", str(repo_root / "launch" / "pipeline.sh"), "qwen7b", *_args(repo_root, tiny_model_dir)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 7  # one job per stage
    scripts = [Path(c.split()[-1]).read_text() for c in calls]  # each submitted script is kept beside its logs
    names = [re.search(r"^#SBATCH --job-name=(\S+)$", s, re.M).group(1) for s in scripts]
    assert names == ["rmr1-data", "rmr1-distill", "sft_qwen7b", "rmr1-export_sft", "rl_qwen7b", "rmr1-export_rl",
                     "eval"]
    assert "--dependency" not in calls[0]
    for index in range(1, 7):  # stage i waits for the job id sbatch gave stage i-1
        assert f"--dependency=afterok:{100 + index - 1}" in calls[index], calls[index]
    assert "chain submitted; last job 106" in done.stdout


EIGHT_CPU_NODES = "n1|debug*|8|gpu:8|infinite\nn2|debug*|8|gpu:8|infinite\n"


def test_cpu_stages_are_checked_against_the_partition_too(repo_root, tiny_model_dir, tmp_path, capsys,
                                                          monkeypatch) -> None:
    """Issue 24 item 1: the CPU stages asked 16 CPUs of 8-CPU nodes (hard-coded) and were refused only by sbatch."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sinfo").write_text(f"#!/bin/sh\nprintf '{EIGHT_CPU_NODES}'\n")
    (bin_dir / "sinfo").chmod(0o755)
    for key, value in _env(tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}").items():
        monkeypatch.setenv(key, value)
    argv = ["qwen7b", *_args(repo_root, tiny_model_dir), "--dry-run", "--", "--cpus-per-gpu", "1"]
    assert run_cli(main, argv, prog="launch/pipeline.sh") == 2
    err = capsys.readouterr().err
    assert "data: stage data asks for 1 node(s) with 0 GPUs and 16 CPUs each (RMR1_CPUS=16" in err
    assert "pass --cpus 8 (RMR1_CPUS)" in err and err.count("\n") == 1
    assert run_cli(main, [*argv, "--cpus", "8"], prog="launch/pipeline.sh") == 0  # the same flags reach every stage


def test_a_dry_run_without_slurm_says_the_partition_was_not_checked(repo_root, tiny_model_dir, tmp_path, capsys,
                                                                     monkeypatch) -> None:
    """A dry run on a machine whose sinfo fails skipped the partition check silently: now it says so, once."""
    from launch import submit

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sinfo").write_text("#!/bin/sh\necho 'slurm_load_partitions: Unable to contact slurm controller' >&2\n"
                                   "exit 1\n")
    (bin_dir / "sinfo").chmod(0o755)
    for key, value in _env(tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}").items():
        monkeypatch.setenv(key, value)
    submit._say_partition_unchecked.cache_clear()
    assert run_cli(main, ["qwen7b", *_args(repo_root, tiny_model_dir), "--dry-run"], prog="launch/pipeline.sh") == 0
    err = capsys.readouterr().err
    assert err.count("were not checked against the partition; sbatch checks them when they are submitted") == 1


# The README's chain submitted to the real local Slurm (two 8-CPU nodes with 8 placeholder GPUs each).


@pytest.fixture(scope="module")
def slurm(local_slurm_cluster):
    yield from local_slurm_cluster("rmr1-chain-", ("n1", "n2"), "RMR1_TIME=01:00:00\n")


def test_readme_chain_is_accepted_by_a_real_slurm_with_8_cpu_nodes(slurm, repo_root, tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    env = _env(out, **slurm.env, RMR1_ENV_FILE=str(slurm.state / "cluster.env"), RAY_AUTH_MODE="disabled",
               RMR1_DATA_DIR=str(tmp_path / "data"))
    cmd = ["bash", str(repo_root / "launch" / "pipeline.sh"), "qwen7b", *_args(repo_root, tiny_model_dir),
           "--", "--cpus-per-gpu", "1", "--cpus", "8"]
    held = subprocess.run(["scontrol", "show", "config"], env=env, capture_output=True, text=True)
    assert held.returncode == 0, held.stderr
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = re.findall(r"^submitted job (\d+);", done.stdout, re.M)
    assert len(ids) == 7, done.stdout
    queue = subprocess.run(["squeue", "-h", "-o", "%i %j %E"], env=env, capture_output=True, text=True).stdout
    subprocess.run(["scancel", *ids], env=env, capture_output=True)  # the stages need a GPU cluster to run
    by_id = {line.split()[0]: line for line in queue.splitlines()}
    for before, after in itertools.pairwise(ids):  # every stage waits for the previous one (afterok)
        assert after in by_id and f"afterok:{before}" in by_id[after], queue
