"""launch/pipeline.sh in --dry-run: every stage checked before submission, each job after the previous (afterok).

The launchers' own dry runs run for real (the SFT and RL wrappers, the cluster eval) with ``--pending``
naming what earlier stages write; nothing reaches Slurm and nothing is written.
"""

from __future__ import annotations

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
    return {m.group(1): m.group(2) for m in re.finditer(r"^\[(\w+)\] (.*)$", stdout, re.M)}


def test_chain_order_and_dependencies(qwen7b_dry_run) -> None:
    done, out = qwen7b_dry_run
    assert done.returncode == 0, done.stderr
    assert "== qwen7b chain: data -> distill -> sft -> export_sft -> rl -> export_rl -> eval" in done.stdout
    lines = _stage_lines(done.stdout)
    assert list(lines) == ["data", "distill", "sft", "export_sft", "rl", "export_rl", "eval"]
    assert "--dependency" not in lines["data"] and "--after" not in lines["data"]
    previous = {"distill": "data", "sft": "distill", "export_sft": "sft", "rl": "export_sft",
                "export_rl": "rl", "eval": "export_rl"}
    for stage, before in previous.items():
        if stage.startswith(("export", "distill")):  # CPU jobs: sbatch directly
            assert f"'--dependency=afterok:<{before}>'" in lines[stage] and lines[stage].startswith("sbatch ")
        else:  # the launchers add the dependency themselves
            assert f"--after '<{before}>'" in lines[stage]
    assert "dry run: nothing submitted" in done.stdout
    assert not (out / "rm_r1").exists() and not (out / "data").exists()


def test_each_stage_reads_what_the_previous_one_writes(qwen7b_dry_run, tiny_model_dir) -> None:
    done, out = qwen7b_dry_run
    lines = _stage_lines(done.stdout)
    data, sft_run = out / "data" / "rm_r1", out / "rm_r1" / "sft_qwen7b"
    assert f"build_parquet.py --out {data} --tokenizer {tiny_model_dir}" in lines["data"]
    assert "--variant instruct" in lines["data"] and "--distill-fraction 0.12" in lines["data"]
    assert f"distill.py --input {data}/instruct/distill.parquet --out {data}/sft" in lines["distill"]
    assert f"sft_qwen7b.sh --model-path {tiny_model_dir} data.train_files={data}/sft/train.parquet" in lines["sft"]
    assert f"--pending {data}/sft" in lines["sft"]
    assert f"launch.export {sft_run} --out {sft_run}/hf" in lines["export_sft"]  # no earlier export: no --force
    assert "--force" not in lines["export_sft"] + lines["export_rl"]
    assert f"rl_qwen7b.sh --model-path {sft_run}/hf --data-dir {data}" in lines["rl"]
    assert f"--pending {sft_run}/hf" in lines["rl"]
    rl_run = out / "rm_r1" / "rl_qwen7b"
    assert f"launch.export {rl_run} --out {rl_run}/hf" in lines["export_rl"]
    assert f"eval.sh --ckpt {rl_run}/hf --benchmarks rewardbench --tp 1 --time 2:00:00" in lines["eval"]


def test_ds_chain_has_no_distillation(repo_root, tiny_model_dir, tmp_path, capsys, monkeypatch) -> None:
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    pairs = repo_root / "preflight" / "samples" / "pairs.jsonl"
    argv = ["ds7b", "--base-model", str(tiny_model_dir), "--data-args", f"--inputs {pairs}", "--dry-run"]
    assert run_cli(main, argv, prog="launch/pipeline.sh") == 0
    lines = _stage_lines(capsys.readouterr().out)
    assert list(lines) == ["data", "rl", "export_rl", "eval"]
    assert "--variant reasoning" in lines["data"] and "--distill-fraction" not in lines["data"]
    assert f"rl_ds7b.sh --model-path {tiny_model_dir}" in lines["rl"] and "--after '<data>'" in lines["rl"]


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
]


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
    assert run_cli(main, argv, prog="launch/pipeline.sh") == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("launch/pipeline.sh: error: Not submitting the qwen7b chain: ")
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
    names = [re.search(r"--job-name=(\S+)", c).group(1) for c in calls]
    assert names == ["rmr1-data", "rmr1-distill", "sft_qwen7b", "rmr1-export_sft", "rl_qwen7b", "rmr1-export_rl",
                     "eval"]
    assert "--dependency" not in calls[0]
    for index in range(1, 7):  # stage i waits for the job id sbatch gave stage i-1
        assert f"--dependency=afterok:{100 + index - 1}" in calls[index], calls[index]
    assert "chain submitted; last job 106" in done.stdout
