"""Launcher logic that needs no cluster: settings and env file, Slurm arguments and allocation checks, the job spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from launch.errors import LaunchError
from launch.job import latest_checkpoint
from launch.settings import Settings, SettingsError, read_env_file, resolve_settings
from launch.slurm_args import (
    Granted,
    Resources,
    SlurmError,
    check_granted,
    granted_from_env,
    parse_gpus,
    parse_time,
    sbatch_argv,
    signal_seconds,
    srun_argv,
)
from launch.slurm_jobs import parse_show_job
from launch.spec import JobSpec


def _settings(tmp_path: Path, text: str = "", flags: dict | None = None, environ: dict | None = None) -> Settings:
    env_file = tmp_path / "cluster.env"
    env_file.write_text(text)
    return resolve_settings(flags or {}, environ or {}, env_file)


ENV_FILE_CASES = [
    # plain assignment
    ("RMR1_PARTITION=gpu\n", {"RMR1_PARTITION": ("gpu", 1)}),
    # comments and blank lines are skipped; line numbers stay true
    ("# cluster\n\nRMR1_ACCOUNT=proj\n", {"RMR1_ACCOUNT": ("proj", 3)}),
    # `export` prefix, as people paste from shell profiles
    ("export RMR1_QOS=high\n", {"RMR1_QOS": ("high", 1)}),
    # shell quoting keeps spaces; an inline comment is dropped
    ("RMR1_MODULES='cuda/12.8 nccl'  # two modules\n", {"RMR1_MODULES": ("cuda/12.8 nccl", 1)}),
    # other variables are kept for export to the job
    ("NCCL_SOCKET_IFNAME=ib0\n", {"NCCL_SOCKET_IFNAME": ("ib0", 1)}),
]


@pytest.mark.parametrize(("text", "expected"), ENV_FILE_CASES)
def test_env_file_parses(tmp_path: Path, text: str, expected: dict) -> None:
    path = tmp_path / "cluster.env"
    path.write_text(text)
    assert read_env_file(path) == expected


BAD_ENV_FILES = [
    # not an assignment
    ("RMR1_PARTITION gpu\n", "is not KEY=VALUE"),
    # unbalanced quotes
    ("RMR1_SETUP='/x\n", "unbalanced quotes"),
    # a typo'd knob is an error with a suggestion, not a silently ignored setting
    ("RMR1_PARTITON=gpu\n", "did you mean RMR1_PARTITION?"),
    # secrets never live in files
    ("WANDB_API_KEY=abc\n", "looks like a secret"),
    ("HF_TOKEN=abc\n", "looks like a secret"),
    # integer knobs must be integers
    ("RMR1_CPUS_PER_GPU=lots\n", "must be a whole number"),
]


@pytest.mark.parametrize(("text", "message"), BAD_ENV_FILES)
def test_bad_env_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _settings(tmp_path, text)


def test_missing_env_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist; pass an existing file to --env-file or RMR1_ENV_FILE"):
        resolve_settings({}, {}, tmp_path / "nope.env")


def test_precedence_flag_then_environment_then_file_then_default(tmp_path: Path) -> None:
    text = "RMR1_PARTITION=from_file\nRMR1_ACCOUNT=from_file\nRMR1_QOS=from_file\nTOKENIZERS_PARALLELISM=false\n"
    s = _settings(
        tmp_path, text, flags={"RMR1_PARTITION": "from_flag"},
        environ={"RMR1_PARTITION": "from_env", "RMR1_ACCOUNT": "from_env"},
    )
    assert (s.get("RMR1_PARTITION"), s.source("RMR1_PARTITION")) == ("from_flag", "flag --partition")
    assert (s.get("RMR1_ACCOUNT"), s.source("RMR1_ACCOUNT")) == ("from_env", "environment RMR1_ACCOUNT")
    assert s.get("RMR1_QOS") == "from_file" and s.source("RMR1_QOS").endswith("cluster.env:3")
    assert s.get("RMR1_TIME") == "24:00:00" and s.source("RMR1_TIME").startswith("default: ")
    assert s.extra_env == {"TOKENIZERS_PARALLELISM": "false"}  # not a secret despite "TOKEN" inside a word


def test_env_file_named_by_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.env"
    path.write_text("RMR1_PARTITION=p\n")
    assert resolve_settings({}, {"RMR1_ENV_FILE": str(path)}).get("RMR1_PARTITION") == "p"


TIMES = [
    ("90", 90 * 60),  # minutes
    ("2:30", 150),  # minutes:seconds
    ("24:00:00", 86400),  # hours:minutes:seconds
    ("1-0", 86400),  # days-hours
    ("1-2:3", 93780),  # days-hours:minutes
    ("1-2:3:4", 93784),  # days-hours:minutes:seconds
]


@pytest.mark.parametrize(("text", "seconds"), TIMES)
def test_slurm_time_formats(text: str, seconds: int) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "1h", "1:2:3:4", "-5"])
def test_bad_time_is_rejected(text: str) -> None:
    with pytest.raises(SlurmError, match="not a Slurm time"):
        parse_time(text)


GPUS = [
    ("8", 8),  # plain count
    ("h100:8", 8),  # typed
    ("a100:2,v100:2", 4),  # several types are summed
    ("gpu:8(IDX:0-7)", 8),  # with an index suffix
]


@pytest.mark.parametrize(("value", "count"), GPUS)
def test_gpus_per_node_formats(value: str, count: int) -> None:
    assert parse_gpus(value) == count


def test_sbatch_arguments_come_from_recipe_and_settings(tmp_path: Path) -> None:
    text = "RMR1_CPUS_PER_GPU=12\nRMR1_PARTITION=gpu\nRMR1_ACCOUNT=proj\nRMR1_SBATCH_ARGS=--exclusive\n"
    s = _settings(tmp_path, text)
    argv = sbatch_argv(Resources(2, 8), s, "rl_qwen14b", tmp_path / "logs", Path("job.sbatch"), ["py", "spec.json"])
    assert argv[:2] == ["sbatch", "--parsable"]
    for arg in ["--nodes=2", "--ntasks-per-node=1", "--gpus-per-node=8", "--cpus-per-task=96", "--time=24:00:00",
                "--requeue", "--signal=B:USR1@600", "--open-mode=append", "--export=ALL", "--partition=gpu",
                "--account=proj", "--exclusive", f"--output={tmp_path}/logs/%x-%j.log"]:
        assert arg in argv
    assert argv[-3:] == ["job.sbatch", "py", "spec.json"]


def test_no_requeue_drops_the_signal(tmp_path: Path) -> None:
    argv = sbatch_argv(Resources(1, 8), _settings(tmp_path, "RMR1_REQUEUE=0\n"), "x", tmp_path, Path("j"), [])
    assert "--no-requeue" in argv and not any(a.startswith("--signal") for a in argv)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RMR1_TIME=10\nRMR1_SIGNAL_SECONDS=600\n", "must be above 0 and below the time limit of 600 s"),  # too late
        # never: refused as a setting already (a knob of 1 or more)
        ("RMR1_SIGNAL_SECONDS=0\n", "RMR1_SIGNAL_SECONDS is 0 .*whole number from 1 to 65535"),
        # Slurm's bound, refused as a setting too
        ("RMR1_TIME=2-0\nRMR1_SIGNAL_SECONDS=70000\n", "RMR1_SIGNAL_SECONDS is 70000 .*from 1 to 65535"),
    ],
)
def test_signal_must_fit_the_time_limit(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LaunchError, match=message):
        signal_seconds(_settings(tmp_path, text))


ALLOCATION = {"SLURM_JOB_ID": "7", "SLURM_JOB_NUM_NODES": "2", "SLURM_GPUS_PER_NODE": "h100:8",
              "SLURM_CPUS_PER_TASK": "96", "SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_RESTART_COUNT": "1"}


def test_allocation_is_read_from_slurm_variables() -> None:
    assert granted_from_env(ALLOCATION) == Granted("7", 2, 8, 96, "gpu[01-02]", 1)


def test_outside_an_allocation_is_an_error() -> None:
    with pytest.raises(SlurmError, match="not inside a Slurm allocation"):
        granted_from_env({})


GRANTED_CASES = [
    # what the recipe declares: no problem
    (Granted("1", 2, 8, 16, "n[1-2]", 0), []),
    # one node short
    (Granted("1", 1, 8, 16, "n1", 0), ["Slurm granted 1 node(s) but rl_qwen14b declares trainer.nnodes=2"]),
    # fewer GPUs per node
    (Granted("1", 2, 4, 16, "n[1-2]", 0), ["Slurm granted 4 GPU(s) per node but rl_qwen14b declares"]),
    # an allocation without GPUs (e.g. salloc without --gpus-per-node)
    (Granted("1", 2, None, 16, "n[1-2]", 0), ["the allocation declares no GPUs per node"]),
]


@pytest.mark.parametrize(("granted", "starts"), GRANTED_CASES)
def test_granted_must_match_the_recipe(granted: Granted, starts: list[str]) -> None:
    problems = check_granted(Resources(2, 8), granted, "rl_qwen14b")
    assert len(problems) == len(starts)
    for problem, start in zip(problems, starts, strict=True):
        assert problem.startswith(start) and problem.endswith(".")


def _spec(**changes) -> JobSpec:
    base = dict(run_id="r", recipe="rl_qwen7b", overrides=["trainer.total_epochs=2"], mode="train", backend="slurm",
                repo="/repo", python="/venv/bin/python", nnodes=1, gpus_per_node=8, log_dir="/out/launch",
                output_dir="/out/rm_r1/rl_qwen7b", output_root="/out")
    return JobSpec(**{**base, **changes})


def test_driver_command_attaches_verl_to_the_recipe() -> None:
    assert _spec().driver_argv() == [
        "/venv/bin/python", "-m", "verl.trainer.main_ppo", "--config-path", "/repo/recipes", "--config-name",
        "rl_qwen7b", "trainer.total_epochs=2", "trainer.resume_mode=auto",
    ]


@pytest.mark.parametrize(
    ("changes", "resume"),
    [
        ({}, ["trainer.resume_mode=auto"]),  # requeue on: the relaunch must resume
        ({"requeue": False}, []),  # requeue off: the recipe's own setting stands
        ({"overrides": ["trainer.resume_mode=resume_path"]}, []),  # the user's explicit choice is not doubled
    ],
)
def test_resume_override(changes: dict, resume: list[str]) -> None:
    spec = _spec(**changes)
    assert spec.driver_overrides() == [*spec.overrides, *resume]


def test_spec_round_trips_through_json(tmp_path: Path) -> None:
    spec = _spec(env={"RMR1_DATA_DIR": "/d"}, srun_args=["--mpi=none"])
    assert JobSpec.read(spec.write(tmp_path / "s.json")) == spec


def test_spec_from_another_tool_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"schema": "other"}')
    with pytest.raises(ValueError, match="resubmit"):
        JobSpec.read(tmp_path / "s.json")


def test_srun_runs_one_named_overlapping_task_in_the_container() -> None:
    argv = srun_argv("n2", _spec(container_image="img.sqsh", container_mounts="/s:/s", srun_args=["--mpi=none"]),
                     cpus=8, log=Path("/l/ray.log"), name="rmr1-ray-head")
    assert argv[:6] == ["srun", "--overlap", "--nodes=1", "--ntasks=1", "--nodelist=n2", "--job-name=rmr1-ray-head"]
    for arg in ["--cpus-per-task=8", "--output=/l/ray.log", "--container-image=img.sqsh", "--container-mounts=/s:/s"]:
        assert arg in argv
    assert argv[-1] == "--mpi=none"


def test_scontrol_fields_are_parsed() -> None:
    line = "JobId=7 JobName=rl_qwen7b JobState=PENDING Reason=BeginTime Requeue=1 Restarts=1 ExitCode=0:0"
    fields = parse_show_job(line)
    assert (fields["JobState"], fields["Restarts"], fields["Reason"]) == ("PENDING", "1", "BeginTime")


@pytest.mark.parametrize(("content", "expected"), [("10", "global_step_10"), ("", None), ("x", None)])
def test_latest_checkpoint_marker(tmp_path: Path, content: str, expected: str | None) -> None:
    (tmp_path / "latest_checkpointed_iteration.txt").write_text(content)
    assert latest_checkpoint(str(tmp_path)) == expected


def test_no_checkpoint_before_the_first_save(tmp_path: Path) -> None:
    assert latest_checkpoint(str(tmp_path / "absent")) is None
