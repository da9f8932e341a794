"""Issue 12's launcher failures (items 3, 22-28, 34), each a regression test; Slurm's commands are stand-ins on PATH.

The stand-ins (``sbatch``, ``sinfo``, ``scontrol``, ``scancel``) log every call to ``calls.log`` and answer
from variables, so each test states the cluster it pretends to be; the real-Slurm run is test_launch_slurm.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from launch.settings import SettingsError, read_env_file, resolve_settings
from launch.submit import main as submit
from testkit.signals import ctrl_c_at

SECRET = "sekrit-value-123"
# Stand-ins for Slurm's commands; FAKE_* variables choose their answers.
FAKE = {
    "sbatch": 'echo "sbatch $*" >> "$FAKE_LOG"\n[ -n "${FAKE_SBATCH_ERROR:-}" ] && { echo "$FAKE_SBATCH_ERROR" >&2; '
              "exit 1; }\necho 77",
    "sinfo": 'echo "sinfo $*" >> "$FAKE_LOG"\nprintf "%b" "${FAKE_SINFO:-}"',
    "scontrol": 'echo "scontrol $*" >> "$FAKE_LOG"\n'
                'echo "JobId=77 JobName=x JobState=${FAKE_STATE:-FAILED} Reason=${FAKE_REASON:-None} '
                'Restarts=0 ExitCode=1:0"',  # a job nobody asked about has failed: no test can wait for ever
    "scancel": 'echo "scancel $*" >> "$FAKE_LOG"',
}
TWO_SMALL_NODES = "n1|debug*|8|gpu:8|infinite\\nn2|debug*|8|gpu:8|infinite\\n"  # the local test cluster


@pytest.fixture
def ready(tmp_path: Path, tiny_model_dir: Path, sample_data: Path, monkeypatch) -> Iterator[Path]:
    """Every input present, Slurm stand-ins first on PATH; returns the output dir (its launch/ is the log dir)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKE.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    with mock.patch.dict(os.environ):
        for key in list(os.environ):
            if key.startswith(("RMR1_", "SLURM_", "WANDB_", "FAKE_", "HF_HUB_OFFLINE")) or key in ("VALIDATE",):
                del os.environ[key]
        os.environ.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_LOG=str(tmp_path / "calls.log"),
                          RMR1_MODEL_PATH=str(tiny_model_dir), RMR1_DATA_DIR=str(sample_data), RMR1_OUTPUT_DIR=str(out))
        monkeypatch.chdir(tmp_path)
        yield out


def _calls(tmp_path: Path, program: str) -> list[str]:
    log = tmp_path / "calls.log"
    lines = log.read_text().splitlines() if log.is_file() else []
    return [line for line in lines if line.startswith(program + " ")]


def _run_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".json", ".ray-token") or p.name.endswith(".spec.json"))


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("launch: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# --- item 3 and 34: env files and secrets -------------------------------------------------------------------

SECRET_ENV_KEYS = [
    "OPENAI_APIKEY",  # "apikey" glued together
    "GH_PAT",  # a personal access token
    "AWS_CREDENTIALS",  # plural, not KEY/TOKEN
    "WANDB_API_KEY",  # the classic
    "hfToken",  # camelCase
    "DB_PASSWORD",  # a password
]


@pytest.mark.parametrize("key", SECRET_ENV_KEYS)
def test_env_file_refuses_every_secret_looking_name(tmp_path: Path, key: str) -> None:
    env_file = tmp_path / "cluster.env"
    env_file.write_text(f"{key}=abc123\n")
    with pytest.raises(SettingsError, match=f"sets {key}, which looks like a secret; export it in your shell"):
        resolve_settings({}, {}, env_file)


@pytest.mark.parametrize("key", ["TOKENIZERS_PARALLELISM", "NCCL_SOCKET_IFNAME", "HF_HOME", "MAX_TOKENS_HINT"])
def test_env_file_keeps_ordinary_names(tmp_path: Path, key: str) -> None:
    env_file = tmp_path / "cluster.env"
    env_file.write_text(f"{key}=x\n")
    assert resolve_settings({}, {}, env_file).extra_env == {key: "x"}


BAD_ENV_PATHS = [
    # latin-1 bytes: one sentence naming the line, not a UnicodeDecodeError traceback
    (lambda p: (p / "c.env").write_bytes(b"RMR1_PARTITION=gpu\nRMR1_QOS=caf\xe9\n") and p / "c.env",
     "c.env:2 is not UTF-8 text; save the env file as UTF-8"),
    # a directory: not "does not exist", not IsADirectoryError
    (lambda p: p, "is a directory; pass an existing file to --env-file"),
]


@pytest.mark.parametrize(("make", "message"), BAD_ENV_PATHS)
def test_unreadable_env_file_is_one_sentence(ready: Path, tmp_path: Path, capsys, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(SettingsError, match=message):
        read_env_file(path)
    assert submit(["rl_qwen7b", "--dry-run", "--env-file", str(path)]) == 2
    assert message.split(";")[0].split(":")[-1] in _one_line_error(capsys)


SECRET_OVERRIDES = [
    "+trainer.openai_apikey=abc",  # secret-looking key names, whatever the spelling
    "+actor_rollout_ref.model.gh_pat=abc",
    "+trainer.aws_credentials=abc",
    f"trainer.experiment_name={SECRET}",  # a secret from the environment given as a value
    f"trainer.experiment_name=run-{SECRET}-2",  # ... or inside one
]


@pytest.mark.parametrize("override", SECRET_OVERRIDES)
def test_secret_overrides_are_refused_and_never_written(ready: Path, capsys, override: str) -> None:
    os.environ["WANDB_API_KEY"] = SECRET
    assert submit(["rl_qwen7b", override]) == 2
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert "export it in your environment" in captured.err and "\n" not in captured.err.strip()
    assert _calls(ready.parent, "sbatch") == [] and _run_files(ready) == [], "nothing submitted, no spec written"


def test_config_keys_that_merely_contain_key_words_are_not_secrets(ready: Path) -> None:
    assert submit(["rl_qwen7b", "--dry-run", "data.prompt_key=prompt", "data.max_response_length=8192"]) == 0


def test_secret_values_are_masked_in_the_echo(ready: Path, capsys) -> None:
    os.environ["WANDB_API_KEY"] = SECRET
    assert submit(["rl_qwen7b", "--dry-run", f"--sbatch-args=--comment={SECRET}"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out and "--comment=***" in out


# --- item 22: a request the partition can never grant --------------------------------------------------------


def test_partition_too_small_is_refused_before_submission(ready: Path, capsys) -> None:
    """The env example's 8 CPUs per GPU asks 64 CPUs per node of the 8-CPU local nodes: PENDING for ever."""
    os.environ.update(FAKE_SINFO=TWO_SMALL_NODES, RMR1_CPUS_PER_GPU="8")
    assert submit(["rl_qwen14b", "--validate"]) == 2
    err = _one_line_error(capsys)
    assert ("rl_qwen14b asks for 2 node(s) with 8 GPUs and 64 CPUs each (8 GPUs x RMR1_CPUS_PER_GPU=8, "
            "environment RMR1_CPUS_PER_GPU), but partition debug has 0 such node(s) (at most 8 CPUs and 8 GPUs "
            "per node), so the job would pend for ever; pass --cpus-per-gpu 1") in err
    assert _calls(ready.parent, "sbatch") == [] and _run_files(ready) == []


PARTITION_CASES = [
    # a named partition that does not exist
    (["--partition", "gpu"], TWO_SMALL_NODES, "Slurm has no partition 'gpu' (known: debug); fix --partition"),
    # more nodes than the partition has
    (["--cpus-per-gpu", "1"], "n1|debug*|8|gpu:8|infinite\\n", "partition debug has 1 such node(s)"),
    # fewer GPUs per node than the recipe declares
    (["--cpus-per-gpu", "1"], "n1|debug*|8|gpu:4|infinite\\nn2|debug*|8|gpu:4|infinite\\n",
     "choose a partition with more GPUs per node"),
    # a time limit above the partition's
    (["--cpus-per-gpu", "1", "--time", "2:00:00"], "n1|debug*|8|gpu:8|1:00:00\\nn2|debug*|8|gpu:8|1:00:00\\n",
     "is above partition debug's limit of 1:00:00"),
]


@pytest.mark.parametrize(("flags", "sinfo", "message"), PARTITION_CASES)
def test_partition_checks(ready: Path, capsys, flags: list[str], sinfo: str, message: str) -> None:
    os.environ["FAKE_SINFO"] = sinfo
    assert submit(["rl_qwen14b", *flags]) == 2
    assert message in _one_line_error(capsys)
    assert _calls(ready.parent, "sbatch") == []


def test_a_request_that_fits_goes_through(ready: Path) -> None:
    os.environ["FAKE_SINFO"] = TWO_SMALL_NODES
    assert submit(["rl_qwen14b", "--cpus-per-gpu", "1"]) == 0
    assert len(_calls(ready.parent, "sbatch")) == 1


def test_a_job_pending_for_a_reason_that_cannot_clear_is_cancelled_and_named(ready: Path, repo_root: Path) -> None:
    """Without sinfo's view (or when Slurm knows better) the job is followed: PartitionConfig never clears.

    A subprocess with a deadline: before the fix the launcher waited for ever.
    """
    env = {**os.environ, "FAKE_STATE": "PENDING", "FAKE_REASON": "PartitionConfig"}
    argv = [sys.executable, "-m", "launch.submit", "rl_qwen14b", "--validate", "--cpus-per-gpu", "1"]
    result = subprocess.run(argv, env=env, cwd=repo_root, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2
    err = result.stderr.strip()
    assert err.startswith("launch: error: ") and "\n" not in err and "Traceback" not in err, err
    assert "Slurm job 77 (rl_qwen14b-validate) can never start: it is pending with reason PartitionConfig" in err
    assert "lower --cpus-per-gpu (RMR1_CPUS_PER_GPU)" in err
    assert _calls(ready.parent, "scancel") == ["scancel 77"]


# --- item 23: Ctrl-C while following a validate job ---------------------------------------------------------


def test_ctrl_c_during_slurm_validate_cancels_the_job_and_names_it(ready: Path, repo_root: Path) -> None:
    env = {**os.environ, "FAKE_STATE": "PENDING", "FAKE_REASON": "Priority", "PYTHONUNBUFFERED": "1"}
    proc = ctrl_c_at([sys.executable, "-m", "launch.submit", "rl_qwen14b", "--validate", "--cpus-per-gpu", "1"],
                     "[launch] job 77: PENDING", env=env, cwd=repo_root)
    err = proc.stderr
    assert proc.returncode == 130
    assert err.strip() == ("launch: error: interrupted: cancelled Slurm job 77 (rl_qwen14b-validate); nothing else "
                           "is left queued.")
    assert "scancel 77" in _calls(ready.parent, "scancel")


# --- item 24: every value checked before anything is written ------------------------------------------------

BAD_VALUES = [
    (["--time=-5"], "not a Slurm time"),  # negative
    (["--time=0"], "time limit '0' is zero"),  # zero
    (["--time=abc"], "not a Slurm time"),  # not a time
    (["--requeue", "0", "--time=0"], "time limit '0' is zero"),  # checked without requeue too
    (["trainer.nnodes=0"], "trainer.nnodes is 0; pass trainer.nnodes=N with a whole number of 1 or more"),
    (["trainer.n_gpus_per_node=-1"], "trainer.n_gpus_per_node is -1"),
    (["--ray-timeout", "0"], "RMR1_RAY_TIMEOUT is 0 (flag --ray-timeout); pass --ray-timeout with a whole number of 1"),
    (["--cpus-per-gpu", "0"], "RMR1_CPUS_PER_GPU is 0"),
    (["--requeue", "2"], "RMR1_REQUEUE is 2 (flag --requeue); pass --requeue with a whole number from 0 to 1"),
    (["--ray-num-cpus", "0"], "RMR1_RAY_NUM_CPUS is 0"),
    (["--signal-seconds", "70000"], "RMR1_SIGNAL_SECONDS is 70000"),
    (["--local", "--local-gpus", "-1"], "--local-gpus is -1; pass 0 or more"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_VALUES)
def test_bad_values_are_refused_before_anything_is_written(ready: Path, capsys, argv: list[str], message) -> None:
    assert submit(["rl_qwen14b", *argv]) == 2
    assert message in _one_line_error(capsys)
    assert _calls(ready.parent, "sbatch") == [] and _run_files(ready) == [], "no spec file, no Ray token"


def test_a_submission_sbatch_refuses_leaves_no_spec_or_token(ready: Path, capsys) -> None:
    os.environ["FAKE_SBATCH_ERROR"] = "sbatch: error: Batch job submission failed: Invalid account"
    assert submit(["rl_qwen14b", "--account", "nope"]) == 2
    assert "sbatch refused the job (sbatch: error: Batch job submission failed: Invalid account)" in _one_line_error(
        capsys)
    assert len(_calls(ready.parent, "sbatch")) == 1
    assert _run_files(ready) == []


# --- item 25: a report is only ever its own run's ------------------------------------------------------------


def test_a_stale_report_is_removed_and_never_shown(ready: Path, tmp_path: Path, capsys) -> None:
    stale = tmp_path / "validate.json"
    stale.write_text(json.dumps({"ok": True, "run_id": "an-older-run", "recipe": "rl_qwen14b", "nodes": []}))
    # inside a (stand-in) two-node allocation the script runs here; its Slurm steps fail before any report
    os.environ.update(SLURM_JOB_ID="42", SLURM_JOB_NUM_NODES="2", SLURM_GPUS_PER_NODE="8", SLURM_JOB_NODELIST="n1")
    os.environ["PATH"] = os.environ["PATH"].replace(str(tmp_path / "bin"), str(tmp_path / "no-bin"))
    assert submit(["rl_qwen14b", "--validate", "--report", str(stale)]) != 0
    out = capsys.readouterr().out
    assert "validate PASSED" not in out and not stale.exists()
    assert f"validate FAILED: rl_qwen14b wrote no report at {stale}" in out


def test_an_allocation_of_the_wrong_size_is_refused_before_anything(ready: Path, capsys) -> None:
    os.environ.update(SLURM_JOB_ID="42", SLURM_JOB_NUM_NODES="1", SLURM_JOB_NODELIST="n1")
    assert submit(["rl_qwen14b", "--validate"]) == 2
    assert "this allocation has 1 node(s) but rl_qwen14b declares trainer.nnodes=2" in _one_line_error(capsys)
    assert _run_files(ready) == []


# --- item 26: warnings printed; the recipe checks run before every submission --------------------------------


def test_training_submission_runs_the_recipe_checks(ready: Path, capsys) -> None:
    assert submit(["rl_qwen7b", "+trainer.total_epoch=2"]) == 2
    err = _one_line_error(capsys)
    assert "Not submitting rl_qwen7b: the recipe check found 1 error(s): [known-keys]" in err
    assert "trainer.total_epoch" in err and "did you mean trainer.total_epochs?" in err
    assert _calls(ready.parent, "sbatch") == []


def test_warnings_are_printed_before_submission(ready: Path, capsys) -> None:
    assert submit(["rl_qwen7b", "--dry-run"]) == 0
    assert "warning: [data-size] " in capsys.readouterr().out  # the sample data gives 0 steps per epoch


def test_validate_summary_names_every_warning() -> None:
    from launch.validate.rl import summary

    problem = {"level": "warning", "check": "data-size", "message": "an epoch has 0 steps; build more data."}
    report = {"ok": True, "recipe": "rl_qwen7b", "nodes": [],
              "cluster": {"registered_nodes": 1, "expected_nodes": 1, "registered_gpus": 8, "expected_gpus": 8},
              "config": {"ok": True, "launch_problems": [], "recipe_report": {"problems": [problem]}}}
    lines = summary(report).splitlines()
    assert "warning: [data-size] an epoch has 0 steps; build more data." in lines
    assert lines[-1] == "validate PASSED: rl_qwen7b (1 warning(s))"


# --- item 27: VALIDATE spellings -----------------------------------------------------------------------------

VALIDATE_VALUES = [
    ("1", "validate"), ("true", "validate"), ("YES", "validate"), ("on", "validate"),  # the usual yes
    ("0", "train"), ("false", "train"), ("no", "train"), ("off", "train"), ("", "train"),  # the usual no
]


@pytest.mark.parametrize(("value", "mode"), VALIDATE_VALUES)
def test_validate_variable_spellings(ready: Path, capsys, value: str, mode: str) -> None:
    os.environ["VALIDATE"] = value
    assert submit(["rl_qwen7b", "--dry-run"]) == 0
    assert f"\nmode          {mode} via dry run" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["2", "maybe", "y e s"])
def test_validate_variable_refuses_anything_else(ready: Path, capsys, value: str) -> None:
    os.environ["VALIDATE"] = value
    assert submit(["rl_qwen7b"]) == 2
    assert f"VALIDATE is {value!r}; set it to 1/true/yes/on or 0/false/no/off" in _one_line_error(capsys)
    assert _calls(ready.parent, "sbatch") == []


# --- item 28: dry run, output dir, node paths, offline hub models ---------------------------------------------


def test_dry_run_prints_no_path_it_does_not_write(ready: Path, capsys) -> None:
    assert submit(["rl_qwen7b", "--dry-run", "--validate"]) == 0
    out = capsys.readouterr().out
    assert ".spec.json" not in out and ".ray-token" not in out and ".sbatch" not in out
    assert "'<SPEC.json: written at submission>'" in out and "sbatch --parsable <this script>" in out
    assert not (ready / "rm_r1").exists()


INPUT_PROBLEMS = [
    # a read-only output folder (/proc refuses new files even for root)
    (["--output-dir", "/proc"], "missing write access to output dir /proc (it is read-only"),
    # a setup script that is not there
    (["--setup", "/nonexistent/activate.sh"], "missing setup script /nonexistent/activate.sh (flag --setup"),
    # a Python that is not there
    (["--python", "/nonexistent/bin/python"], "missing Python /nonexistent/bin/python (flag --python"),
]


@pytest.mark.parametrize(("flags", "message"), INPUT_PROBLEMS)
def test_node_inputs_are_checked_before_submission(ready: Path, capsys, flags: list[str], message: str) -> None:
    assert submit(["rl_qwen7b", "--dry-run", *flags]) == 2
    assert message in _one_line_error(capsys)


def test_a_container_image_skips_the_host_side_path_checks(ready: Path) -> None:
    flags = ["--container-image", "img.sqsh", "--python", "/opt/in-image/python"]
    assert submit(["rl_qwen7b", "--dry-run", *flags]) == 0


def test_offline_validate_refuses_an_uncached_hub_model(ready: Path, capsys) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    assert submit(["rl_qwen7b", "--dry-run", "--validate", "--model-path", "rmr1-test/never-cached-model"]) == 2
    assert "missing a cached copy of hub model rmr1-test/never-cached-model (HF_HUB_OFFLINE is set" in (
        _one_line_error(capsys))


def test_validate_summary_names_a_code_difference_between_nodes() -> None:
    """A FAILED verdict must not follow lines that all say ok (seen when the nodes read different commits)."""
    from launch.validate.rl import summary

    report = {"ok": False, "recipe": "rl_qwen14b", "nodes": [],
              "cluster": {"registered_nodes": 2, "expected_nodes": 2, "registered_gpus": 16, "expected_gpus": 16},
              "consistency": {"ok": False, "git_commits": ["aaa", "bbb"], "project_versions": ["0.1.0"]},
              "config": {"ok": True, "launch_problems": [], "recipe_report": {"problems": []}}}
    assert "code: DIFFERS between nodes: git commits aaa, bbb, project versions 0.1.0" in summary(report)
