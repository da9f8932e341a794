"""The wrappers and ``launch.submit`` without a cluster: thin wrappers, dry run, input checks, user errors."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from launch.submit import main as submit

WRAPPED = ["rl_qwen7b", "rl_qwen14b", "rl_qwen32b", "rl_ds7b", "rl_ds14b", "rl_ds32b"]


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A process environment without launcher or Slurm variables, restored afterwards (submit exports inputs)."""
    with mock.patch.dict(os.environ):
        for key in list(os.environ):
            if key.startswith(("RMR1_", "SLURM_", "WANDB_")) or key in ("VALIDATE", "RAY_AUTH_MODE"):
                del os.environ[key]
        monkeypatch.chdir(tmp_path)
        yield os.environ  # type: ignore[misc]


@pytest.fixture
def ready(clean_env, tiny_model_dir: Path, sample_data: Path, tmp_path: Path) -> Path:
    """Every input present; returns the output dir."""
    out = tmp_path / "out"
    out.mkdir()
    clean_env.update(RMR1_MODEL_PATH=str(tiny_model_dir), RMR1_DATA_DIR=str(sample_data), RMR1_OUTPUT_DIR=str(out))
    return out


@pytest.mark.parametrize("recipe", WRAPPED)  # one row per paper model
def test_wrapper_is_thin_and_picks_its_own_recipe(repo_root: Path, recipe: str) -> None:
    script = repo_root / "launch" / f"{recipe}.sh"
    lines = script.read_text().splitlines()
    assert len(lines) <= 8 and lines[1].startswith(f"# Usage: bash launch/{recipe}.sh")
    assert "set -euo pipefail" in lines
    assert lines[-1] == f'exec bash "$(dirname "${{BASH_SOURCE[0]}}")/submit.sh" {recipe} "$@"'
    assert (repo_root / "recipes" / f"{recipe}.yaml").is_file()


def test_every_wrapper_has_a_recipe_and_nothing_is_hard_coded(repo_root: Path) -> None:
    wrappers = sorted(p.stem for p in (repo_root / "launch").glob("rl_*.sh"))
    assert wrappers == sorted(WRAPPED)
    for name in wrappers:
        text = (repo_root / "launch" / f"{name}.sh").read_text()
        assert not re.search(r"--partition|--account|nnodes|/home/|/scratch/|WANDB_API_KEY=", text)


def test_dry_run_echoes_config_and_prints_the_job_script(repo_root: Path, ready: Path) -> None:
    env = {**os.environ, "WANDB_API_KEY": "sekrit-value-123"}
    args = ["--dry-run", "trainer.total_epochs=2", "trainer.logger=[console,wandb]"]
    result = subprocess.run(["bash", str(repo_root / "launch" / "rl_qwen7b.sh"), *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("== rl_qwen7b: resolved launch configuration [source]")
    assert "sekrit-value-123" not in out + result.stderr
    assert "WANDB_API_KEY set in environment (hidden)" in out
    assert re.search(r"resources +1 node\(s\) x 8 GPUs +\[trainer.nnodes: default in recipes/size/7b.yaml\]", out)
    assert re.search(r"RMR1_TIME +24:00:00  \[default: a common partition maximum", out)  # defaults cite sources
    script = out[out.index("#!/usr/bin/env bash"):out.index("-- end of job script")]
    driver = next(line.strip() for line in script.splitlines() if "-m verl.trainer.main_ppo" in line)
    python = driver.split()[0]
    assert driver == (
        f"{python} -m verl.trainer.main_ppo --config-path {repo_root}/recipes --config-name rl_qwen7b "
        "trainer.total_epochs=2 'trainer.logger=[console,wandb]' trainer.resume_mode=auto &"
    )
    log_dir = ready / "rm_r1" / "rl_qwen7b" / "launch"
    for arg in ["--nodes=1", "--gpus-per-node=8", "--cpus-per-task=64", "--time=24:00:00", "--requeue",
                "--signal=B:USR1@600", f"--output={log_dir}/%x-%j.log"]:
        assert f"#SBATCH {arg}\n" in script
    assert "srun --ntasks-per-node=1 " in script and "ray symmetric-run --address" in script
    assert "sekrit-value-123" not in script
    assert out.rstrip().endswith("dry run: nothing submitted or written")
    assert not log_dir.exists(), "a dry run writes nothing"


def test_missing_inputs_are_named_in_one_sentence(clean_env, tmp_path: Path, capsys) -> None:
    assert submit(["rl_qwen14b", "--validate"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.endswith(".")
    assert err.startswith("launch: error: Not submitting rl_qwen14b: missing model path ")
    # the default paths resolve against the working directory and name the variable that fixes them
    assert f"missing data file(s) {tmp_path}/data/rm_r1/instruct/train.parquet" in err and "RMR1_DATA_DIR" in err
    assert f"missing output dir {tmp_path}/checkpoints (create it or set RMR1_OUTPUT_DIR" in err
    assert f"missing model path {tmp_path}/checkpoints/rm_r1/sft_qwen14b/hf (" in err and "RMR1_MODEL_PATH" in err


def test_keys_that_merely_contain_token_are_not_secrets(ready: Path) -> None:
    assert submit(["rl_qwen7b", "--dry-run", "actor_rollout_ref.model.tokenizer_path=null"]) == 0


def test_validate_variable_selects_validate_mode(ready: Path, capsys) -> None:
    os.environ["VALIDATE"] = "1"
    assert submit(["rl_qwen7b", "--dry-run"]) == 0
    assert re.search(r"^mode +validate via dry run", capsys.readouterr().out, re.MULTILINE)


def test_a_model_folder_needs_config_json(ready: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "not_a_model").mkdir()
    assert submit(["rl_qwen7b", "--dry-run", "--model-path", str(tmp_path / "not_a_model")]) == 2
    assert "missing config.json in model path" in capsys.readouterr().err


USER_ERRORS = [
    # wandb logging needs the key in the environment
    (["rl_qwen7b", "--dry-run", "trainer.logger=[console,wandb]"], "WANDB_API_KEY is not in your environment"),
    # a key on the command line is refused, whatever its spelling
    (["rl_qwen7b", "--dry-run", "+trainer.wandb_api_key=abc"], "looks like a secret"),
    (["rl_qwen7b", "--dry-run", "+actor_rollout_ref.model.hf_token=abc"], "looks like a secret"),
    # requeue without resume would restart from step 0
    (["rl_qwen7b", "--dry-run", "trainer.resume_mode=disable"], "requeued job would restart from step 0"),
    # the requeue signal must come before the limit
    (["rl_qwen7b", "--dry-run", "--time", "5", "--signal-seconds", "600"], "below the time limit of 300 s"),
    # SFT recipes run on the same launcher, with the same input checks (tests/test_sft_launch.py)
    (["sft_qwen7b", "--dry-run", "data.train_files=/nonexistent/sft/train.parquet"], "missing data file(s)"),
    # unknown recipe: the known ones are listed
    (["rl_qwen8b", "--dry-run"], "no recipe named 'rl_qwen8b'"),
    # a key verl lacks is rejected by Hydra before anything runs
    (["rl_qwen7b", "--dry-run", "trainer.no_such_key=1"], "does not compose"),
    # a typo in the env file
    (["rl_qwen7b", "--dry-run", "--env-file", "{bad_env}"], "did you mean RMR1_PARTITION?"),
]


@pytest.mark.parametrize(("argv", "message"), USER_ERRORS)
def test_user_errors_are_one_sentence(ready: Path, tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    (tmp_path / "bad.env").write_text("RMR1_PARTITON=gpu\n")
    assert submit([a.format(bad_env=tmp_path / "bad.env") for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_no_sbatch_outside_an_allocation_suggests_local(ready: Path, tmp_path: Path, capsys) -> None:
    os.environ["PATH"] = str(tmp_path)  # no sbatch here
    assert submit(["rl_qwen7b"]) == 2
    assert "sbatch is not on PATH; run this on a Slurm login node, or pass --local" in capsys.readouterr().err


def test_relative_default_paths_are_pinned_absolute(clean_env, tiny_model_dir, sample_data, tmp_path, capsys) -> None:
    """Nodes do not share the submitter's working directory: relative defaults become absolute overrides."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rm_r1").symlink_to(sample_data)
    (tmp_path / "checkpoints").mkdir()
    clean_env["RMR1_MODEL_PATH"] = str(tiny_model_dir)
    assert submit(["rl_qwen7b", "--dry-run"]) == 0
    driver = next(line for line in capsys.readouterr().out.splitlines() if "-m verl.trainer.main_ppo" in line)
    for pin in [f"data.train_files={tmp_path}/data/rm_r1/instruct/train.parquet",
                f"data.val_files={tmp_path}/data/rm_r1/instruct/val.parquet",
                f"trainer.default_local_dir={tmp_path}/checkpoints/rm_r1/rl_qwen7b"]:
        assert pin in driver


def test_inside_an_allocation_it_runs_the_script_there(ready: Path, tmp_path: Path, capsys) -> None:
    """Inside a two-node allocation the rendered script runs here (its srun steps use the allocation)."""
    os.environ.update(SLURM_JOB_ID="42", SLURM_JOB_NUM_NODES="2", SLURM_GPUS_PER_NODE="8", SLURM_JOB_NODELIST="n1")
    os.environ["PATH"] = f"{tmp_path}:{os.environ['PATH']}"
    (tmp_path / "scontrol").write_text("#!/bin/sh\nexit 7\n")  # a stand-in: the script stops at its first step
    (tmp_path / "scontrol").chmod(0o755)
    assert submit(["rl_qwen14b", "--validate"]) == 7
    out = capsys.readouterr().out
    assert "-- job script: bash " in out and "validate FAILED: rl_qwen14b wrote no report" in out
    logs = ready / "rm_r1" / "rl_qwen14b" / "launch"
    specs, tokens = list(logs.glob("*.spec.json")), list(logs.glob("*.ray-token"))
    assert len(specs) == 1 and len(tokens) == 1 and oct(tokens[0].stat().st_mode)[-3:] == "600"
    assert oct(next(logs.glob("*.sbatch")).stat().st_mode)[-3:] == "600"




def test_readme_shows_the_script_the_launcher_renders(repo_root: Path, ready: Path) -> None:
    """README 'Launch on Slurm' prints the 2-node RL job script: every line without a path is what is rendered."""
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    block = text[text.index("The rendered script of the 2-node RL job"):]
    block = block[block.index("```bash\n") + 8:]
    shown = [line[2:] for line in block[:block.index("```")].splitlines()]
    flags = ["--dry-run", "--partition", "gpu", "--account", "my-project", "--modules", "cuda/12.8"]
    result = subprocess.run(["bash", str(repo_root / "launch" / "rl_qwen14b.sh"), *flags], capture_output=True,
                            text=True, timeout=300, env=os.environ)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rendered = out[out.index("#!/usr/bin/env bash"):out.index("-- end of job script")].splitlines()

    def pathless(lines: list[str]) -> list[str]:
        return [line for line in lines if line.strip() and "/" not in line and "<RAY_TOKEN" not in line]

    assert pathless(shown) == pathless(rendered)
