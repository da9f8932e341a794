"""Launcher logic that needs no cluster: settings and env file, the one resource model (#SBATCH lines), the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from launch.errors import LaunchError, SlurmError
from launch.jobs.request import make_request, parse_time, signal_seconds
from launch.jobs.slurm import parse_show_job
from launch.settings import Settings, SettingsError, read_env_file, resolve_settings, split_words
from launch.validate.spec import JobSpec


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


def test_sbatch_lines_come_from_the_recipe_and_the_settings(tmp_path: Path) -> None:
    text = "RMR1_CPUS_PER_GPU=12\nRMR1_PARTITION=gpu\nRMR1_ACCOUNT=proj\nRMR1_SBATCH_ARGS=--exclusive\n"
    lines = make_request(_settings(tmp_path, text), "rl_qwen14b", 2, 8, tmp_path / "logs", requeue=True).sbatch_lines()
    for arg in ["--nodes=2", "--ntasks-per-node=1", "--gpus-per-node=8", "--cpus-per-task=96", "--time=24:00:00",
                "--requeue", "--signal=B:USR1@600", "--open-mode=append", "--partition=gpu", "--account=proj",
                "--exclusive", f"--output={tmp_path}/logs/%x-%j.log"]:
        assert f"#SBATCH {arg}" in lines.splitlines()


REQUESTS = [
    # a GPU job: GPUs per node x --cpus-per-gpu
    ({"gpus": 8}, "RMR1_CPUS_PER_GPU=2\n", 16),
    # a CPU job (data, distillation, export): --cpus, whatever --cpus-per-gpu says
    ({"gpus": 0}, "RMR1_CPUS_PER_GPU=2\nRMR1_CPUS=8\n", 8),
    # a CPU job's default
    ({"gpus": 0}, "", 16),
]


@pytest.mark.parametrize(("shape", "text", "cpus"), REQUESTS)
def test_one_resource_model_for_gpu_and_cpu_jobs(tmp_path: Path, shape: dict, text: str, cpus: int) -> None:
    request = make_request(_settings(tmp_path, text), "x", 1, shape["gpus"], tmp_path)
    assert request.cpus_per_node == cpus
    assert ("--gpus-per-node" in request.sbatch_lines()) is bool(shape["gpus"])


def test_no_requeue_drops_the_signal(tmp_path: Path) -> None:
    lines = make_request(_settings(tmp_path, "RMR1_REQUEUE=0\n"), "x", 1, 8, tmp_path).sbatch_lines()
    assert "#SBATCH --no-requeue" in lines and "--signal" not in lines


@pytest.mark.parametrize("text", ["--exclusive 'a", '--comment "x', "'"])
def test_unbalanced_quotes_in_pass_through_arguments_are_one_sentence(tmp_path: Path, text: str) -> None:
    """Issue 25 item 5 and its class: --sbatch-args, --srun-args, --data-args, --distill-args (was a ValueError)."""
    with pytest.raises(SettingsError, match=r"^--sbatch-args has an unbalanced quote .*; close every quote"):
        split_words("--sbatch-args", text)


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


def _spec(**changes) -> JobSpec:
    base = dict(run_id="r", recipe="rl_qwen7b", overrides=["trainer.total_epochs=2"], backend="slurm",
                repo="/repo", nnodes=1, gpus_per_node=8, log_dir="/out/launch", output_dir="/out/rm_r1/rl_qwen7b",
                output_root="/out", report="/out/launch/validate-r.json")
    return JobSpec(**{**base, **changes})


def test_spec_round_trips_through_json(tmp_path: Path) -> None:
    spec = _spec(local_gpus=8, ray_tmpdir="/tmp/r")
    assert JobSpec.read(spec.write(tmp_path / "s.json")) == spec


def test_spec_from_another_tool_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"schema": "other"}')
    with pytest.raises(ValueError, match="resubmit"):
        JobSpec.read(tmp_path / "s.json")


def test_scontrol_fields_are_parsed() -> None:
    line = "JobId=7 JobName=rl_qwen7b JobState=PENDING Reason=BeginTime Requeue=1 Restarts=1 ExitCode=0:0"
    fields = parse_show_job(line)
    assert (fields["JobState"], fields["Restarts"], fields["Reason"]) == ("PENDING", "1", "BeginTime")
