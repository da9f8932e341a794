"""The launcher's entry point: ``bash launch/<recipe>.sh`` runs ``python -m launch.submit <recipe> ...``.

    python -m launch.submit RECIPE [--validate] [--dry-run] [--local] [--wait] [cluster flags] [key=value ...]

Composes the recipe (with the overrides), checks the inputs (model path, data files, output dir) and
names every missing one in one sentence BEFORE anything is submitted, echoes the resolved
configuration with the source of every value, then: prints the commands (``--dry-run``); runs the
job directly (inside an existing allocation, or ``--local`` on this machine without Slurm); or
submits ``launch/job.sbatch`` with arguments built from the recipe's resources. Validate mode
(``--validate`` or ``VALIDATE=1``) waits for the job and exits with the report's verdict.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shlex
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from launch.echo import describe
from launch.inputs import missing_inputs, missing_sentence, read_inputs
from launch.settings import KNOBS, Settings, SettingsError, absolute, effective_python, flag_dest, resolve_settings
from launch.slurm_args import SlurmError, resources_of, sbatch_argv, signal_seconds
from launch.spec import JobSpec

REPO = Path(__file__).resolve().parents[1]
PATH_INPUTS = ("RMR1_MODEL_PATH", "RMR1_DATA_DIR", "RMR1_OUTPUT_DIR")
NODE_ENV = ("RMR1_MODULES", "RMR1_SETUP")
# A key naming a secret (wandb_api_key, hf_token, ...), but not tokenizer_path or max_tokens.
_SECRET_KEY = re.compile(r"(^|[._])(api_?key|token|secret|password|passwd)($|[._])")
WHERE = {"local": "local Ray", "allocation": "this allocation", "sbatch": "sbatch"}


class UsageError(ValueError):
    """A user mistake; printed as one sentence, exit code 2."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="launch/<recipe>.sh", description=__doc__.splitlines()[0])
    p.add_argument("recipe", help="a recipe in recipes/, e.g. rl_qwen7b")
    p.add_argument("overrides", nargs="*", help="Hydra overrides key=value, passed to verl")
    p.add_argument("--validate", action="store_true", help="check every node and the config instead of training")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and commands, submit nothing")
    p.add_argument("--local", action="store_true", help="run on this machine with a local Ray node, no Slurm")
    p.add_argument("--local-gpus", type=int, help="--local: GPUs to declare to Ray (default: nvidia-smi count)")
    p.add_argument("--wait", action="store_true", help="wait for the Slurm job to end (implied by --validate)")
    p.add_argument("--report", type=Path, help="validate report path (default: <log dir>/validate-<run id>.json)")
    p.add_argument("--env-file", type=Path, help="cluster env file (default: $RMR1_ENV_FILE)")
    for knob in KNOBS:
        p.add_argument(knob.flag, dest=flag_dest(knob), metavar=knob.env, help=f"{knob.help} [{knob.source}]")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_intermixed_args(argv)
    try:
        return run(args)
    except (UsageError, SettingsError, SlurmError) as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 2


def run(args: argparse.Namespace) -> int:
    validate = args.validate or os.environ.get("VALIDATE") == "1"
    _reject_secrets(args.overrides)
    settings = resolve_settings({k.env: getattr(args, flag_dest(k)) for k in KNOBS}, os.environ, args.env_file)
    cwd = Path.cwd()
    _export_inputs(settings, cwd)
    composed = _compose(args.recipe, args.overrides)
    inputs = read_inputs(composed, cwd)
    missing = missing_inputs(inputs)
    if missing:
        raise UsageError(missing_sentence(args.recipe, missing))
    _check_logger_and_resume(composed.cfg, settings)
    backend = _backend(args)
    spec = _make_spec(args, settings, composed, inputs, validate, backend)
    script_args = [_orchestrator_python(spec), str(Path(spec.log_dir) / f"{spec.run_id}.spec.json")]
    sbatch = sbatch_argv(
        resources_of(composed.cfg), settings, _job_name(spec), Path(spec.log_dir), REPO / "launch" / "job.sbatch",
        script_args,
    )
    sbatch.insert(1, f"--chdir={REPO}")
    print(describe(spec, settings, inputs, composed, sbatch, "dry run" if args.dry_run else WHERE[backend]))
    if args.dry_run:
        print("dry run: nothing submitted")
        return 0
    spec_path = Path(script_args[1])
    write_ray_token(spec)
    spec.write(spec_path)
    if backend in ("local", "allocation"):
        from launch.job import Job

        code = Job(spec, spec_path).run()
        return _finish(spec, code)
    return _submit_and_follow(spec, sbatch, args.wait or validate)


def _reject_secrets(overrides: Sequence[str]) -> None:
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~").lower()
        if _SECRET_KEY.search(key) or "WANDB_API_KEY" in override:
            raise UsageError(
                f"override {key!r} looks like a secret; export it in your environment (WANDB_API_KEY=...) instead, "
                "since command lines are visible to every user of the cluster."
            )


def _export_inputs(settings: Settings, cwd: Path) -> None:
    """Put RMR1_* inputs in the environment the recipe resolves, local paths made absolute."""
    for env in PATH_INPUTS:
        value = settings.get(env)
        if value is None:
            continue
        is_path = env != "RMR1_MODEL_PATH" or value.startswith((".", "/", "~")) or (cwd / value).exists()
        os.environ[env] = absolute(value, cwd) if is_path else value


def _compose(recipe: str, overrides: Sequence[str]):  # -> recipes.compose.Composed
    from recipes.compose import RecipeError, compose_recipe

    try:
        composed = compose_recipe(recipe, list(overrides))
    except RecipeError as err:
        raise UsageError(str(err)) from err
    if composed.kind != "rl":
        raise UsageError(f"{recipe} is an SFT recipe; this launcher runs GRPO recipes (rl_*), use one of those.")
    return composed


def _check_logger_and_resume(cfg, settings: Settings) -> None:
    loggers = cfg.trainer.logger
    loggers = [loggers] if isinstance(loggers, str) else list(loggers or [])
    if "wandb" in loggers and not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") != "offline":
        raise UsageError(
            "trainer.logger includes wandb but WANDB_API_KEY is not in your environment; export it in your shell "
            "(it is never read from a file or the command line) or drop wandb from trainer.logger."
        )
    if settings.integer("RMR1_REQUEUE") and cfg.trainer.resume_mode != "auto":
        raise UsageError(
            f"trainer.resume_mode is {cfg.trainer.resume_mode!r}, so a requeued job would restart from step 0; "
            "drop that override or pass --requeue 0."
        )
    if settings.integer("RMR1_REQUEUE"):
        signal_seconds(settings)  # raises when the signal would come before the job starts


def _backend(args: argparse.Namespace) -> str:
    if args.local:
        return "local"
    if os.environ.get("SLURM_JOB_ID"):
        return "allocation"
    if not args.dry_run and shutil.which("sbatch") is None:
        raise UsageError("sbatch is not on PATH; run this on a Slurm login node, or pass --local to use this machine.")
    return "sbatch"


def _make_spec(args, settings: Settings, composed, inputs, validate: bool, backend: str) -> JobSpec:
    run_id = f"{args.recipe}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{os.getpid()}"
    log_dir = Path(settings.get("RMR1_LOG_DIR") or Path(inputs.checkpoint_dir) / "launch")
    log_dir = Path(absolute(str(log_dir), Path.cwd()))
    env = {k: os.environ[k] for k in PATH_INPUTS if os.environ.get(k)}
    env |= {k: settings.get(k) for k in NODE_ENV if settings.get(k)}
    env |= settings.extra_env
    resources = resources_of(composed.cfg)
    report = args.report or (log_dir / f"validate-{run_id}.json" if validate else None)
    return JobSpec(
        run_id=run_id,
        recipe=args.recipe,
        overrides=[*args.overrides, *inputs.pins],
        mode="validate" if validate else "train",
        backend="local" if backend == "local" else "slurm",
        repo=str(REPO),
        python=effective_python(settings, sys.executable),
        nnodes=resources.nnodes,
        gpus_per_node=resources.gpus_per_node,
        log_dir=str(log_dir),
        output_dir=inputs.checkpoint_dir,
        output_root=inputs.output_root,
        driver_module=settings.get("RMR1_DRIVER_MODULE") or "verl.trainer.main_ppo",
        report=str(Path(absolute(str(report), Path.cwd()))) if report else None,
        env=env,
        requeue=bool(settings.integer("RMR1_REQUEUE")),
        max_requeues=settings.integer("RMR1_MAX_REQUEUES") or 0,
        ray_num_cpus=settings.integer("RMR1_RAY_NUM_CPUS"),
        ray_tmpdir=settings.get("RMR1_RAY_TMPDIR"),
        ray_timeout=settings.integer("RMR1_RAY_TIMEOUT") or 300,
        container_image=settings.get("RMR1_CONTAINER_IMAGE"),
        container_mounts=settings.get("RMR1_CONTAINER_MOUNTS"),
        srun_args=shlex.split(settings.get("RMR1_SRUN_ARGS") or ""),
        min_free_gb=settings.integer("RMR1_MIN_FREE_GB"),
        local_gpus=_local_gpus(args) if backend == "local" else None,
    )


def write_ray_token(spec: JobSpec) -> None:
    """A per-run Ray token (0600, shared filesystem) unless RAY_AUTH_MODE=disabled was chosen explicitly."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        spec.env["RAY_AUTH_MODE"] = "disabled"
        return
    Path(spec.log_dir).mkdir(parents=True, exist_ok=True)
    path = Path(spec.log_dir) / f"{spec.run_id}.ray-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    spec.env |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)}


def _orchestrator_python(spec: JobSpec) -> str:
    """The host Python for launch/job.py: the spec's, or the system python3 when the work runs in a container."""
    return "python3" if spec.container_image else spec.python


def _job_name(spec: JobSpec) -> str:
    return f"{spec.recipe}-validate" if spec.mode == "validate" else spec.recipe


def _local_gpus(args: argparse.Namespace) -> int:
    """GPUs a --local run declares to Ray: --local-gpus, else what nvidia-smi lists (0 without it)."""
    if args.local_gpus is not None:
        return int(args.local_gpus)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    import subprocess

    out = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def _submit_and_follow(spec: JobSpec, sbatch: list[str], wait: bool) -> int:
    from launch.slurm_jobs import SubmitError, submit, wait_for_job

    try:
        job_id = submit(sbatch)
    except SubmitError as err:
        raise UsageError(str(err)) from err
    print(f"submitted job {job_id}; log {Path(spec.log_dir) / f'{_job_name(spec)}-{job_id}.log'}", flush=True)
    if not wait:
        return 0
    state = wait_for_job(job_id)
    print(f"job {job_id} ended {state.state} with exit code {state.exit_code} after {state.restarts} restart(s)")
    return _finish(spec, 0 if state.state == "COMPLETED" else (state.exit_code or 1))


def _finish(spec: JobSpec, code: int) -> int:
    if spec.mode == "validate" and spec.report and Path(spec.report).is_file():
        import json

        from launch.validate import summary

        print(summary(json.loads(Path(spec.report).read_text(encoding="utf-8"))))
        print(f"report: {spec.report}")
    return code


if __name__ == "__main__":
    sys.exit(main())
