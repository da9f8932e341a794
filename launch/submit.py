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
import secrets
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from infra.cli_errors import run_cli
from infra.redaction import is_secret_name, redact, secret_values
from launch.checks import check_node_env, check_recipe, print_warnings
from launch.echo import describe
from launch.errors import Cancelled, LaunchError, OneLineParser, SubmitError
from launch.inputs import missing_inputs, missing_sentence, read_inputs
from launch.settings import KNOBS, Settings, absolute, effective_python, flag_dest, resolve_settings, switch
from launch.slurm_args import resources_of, sbatch_argv, signal_seconds
from launch.spec import JobSpec
from launch.stage_inputs import card_problems, card_warnings, dependency_flag, driver_module, drop_pending

PROG = "launch"
REPO = Path(__file__).resolve().parents[1]
PATH_INPUTS = ("RMR1_MODEL_PATH", "RMR1_DATA_DIR", "RMR1_OUTPUT_DIR")
NODE_ENV = ("RMR1_MODULES", "RMR1_SETUP")
WHERE = {"local": "local Ray", "allocation": "this allocation", "sbatch": "sbatch"}
DRY_RUN_SPEC = "<SPEC.json: written at submission>"  # a dry run writes nothing, so it names no real file
LOOPBACK = "127.0.0.1"
# The shell's working-directory variables match the secret word "pwd" but hold paths, never secrets.
NOT_SECRETS = ("PWD", "OLDPWD")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="launch/<recipe>.sh", description=__doc__.splitlines()[0])
    p.add_argument("recipe", help="a recipe in recipes/, e.g. rl_qwen7b")
    p.add_argument("overrides", nargs="*", default=[], help="Hydra overrides key=value, passed to verl")
    p.add_argument("--validate", action="store_true", help="check every node and the config instead of training")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and commands, submit nothing")
    p.add_argument("--local", action="store_true", help="run on this machine with a local Ray node, no Slurm")
    p.add_argument("--local-gpus", type=int, help="--local: GPUs to declare to Ray (default: nvidia-smi count)")
    p.add_argument("--wait", action="store_true", help="wait for the Slurm job to end (implied by --validate)")
    p.add_argument("--report", type=Path, help="validate report path (default: <log dir>/validate-<run id>.json)")
    p.add_argument("--env-file", type=Path, help="cluster env file (default: $RMR1_ENV_FILE)")
    p.add_argument("--after", action="append", default=[], metavar="JOB_ID",
                   help="start only after this Slurm job succeeds (--dependency=afterok; launch/pipeline.sh)")
    p.add_argument("--pending", action="append", default=[], metavar="PATH",
                   help="an input an --after job writes: not required to exist yet (launch/pipeline.sh)")
    for knob in KNOBS:
        p.add_argument(knob.flag, dest=flag_dest(knob), metavar=knob.env, help=f"{knob.help} [{knob.source}]")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The launcher; bad input is one sentence and exit 2, Ctrl-C exit 130 (infra.cli_errors)."""
    return run_cli(_main, argv, prog=PROG)


def _main(argv: Sequence[str] | None) -> int:
    args = parser().parse_intermixed_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Check everything, then dry-run, run here, or submit; nothing is written before every check passed."""
    validate = args.validate or switch("VALIDATE", os.environ.get("VALIDATE"))
    if args.local_gpus is not None and args.local_gpus < 0:
        raise LaunchError(f"--local-gpus is {args.local_gpus}; pass 0 or more GPUs to declare to the local Ray node.")
    _reject_secrets(args.overrides, os.environ)
    settings = resolve_settings({k.env: getattr(args, flag_dest(k)) for k in KNOBS}, os.environ, args.env_file)
    cwd = Path.cwd()
    _export_inputs(settings, cwd)
    composed = _compose(args.recipe, args.overrides)
    resources = resources_of(composed.cfg)
    inputs = read_inputs(composed, cwd)
    missing = missing_inputs(inputs) + card_problems(composed, str(inputs.model.value), inputs.model_is_hub_id)
    missing = drop_pending(missing, args.pending) + check_node_env(settings)
    if missing:
        raise LaunchError(missing_sentence(args.recipe, missing))
    _check_logger_and_resume(composed.cfg, settings)
    warnings = check_recipe(composed) + card_warnings(composed, str(inputs.model.value), inputs.model_is_hub_id)
    backend = _backend(args)
    if backend == "sbatch":
        _check_partition(resources, settings, args.recipe)
    spec = _make_spec(args, settings, composed, inputs, validate, backend)
    spec_path = Path(spec.log_dir) / f"{spec.run_id}.spec.json"
    script_args = [_orchestrator_python(spec), DRY_RUN_SPEC if args.dry_run else str(spec_path)]
    sbatch = sbatch_argv(resources, settings, _job_name(spec), Path(spec.log_dir), REPO / "launch" / "job.sbatch",
                         script_args)
    sbatch[1:1] = [f"--chdir={REPO}", *dependency_flag(args.after)]
    echo = describe(spec, settings, inputs, composed, sbatch, "dry run" if args.dry_run else WHERE[backend])
    print(redact(echo, environment_secrets(os.environ)))
    print_warnings(warnings)
    if args.dry_run:
        print("dry run: nothing submitted or written")
        return 0
    if spec.report:
        Path(spec.report).unlink(missing_ok=True)  # a report at this path is only ever this run's
    write_ray_token(spec)
    spec.write(spec_path)
    if backend in ("local", "allocation"):
        from launch.torchrun_job import job_class

        code = job_class(spec)(spec, spec_path).run()
        return _finish(spec, code)
    return _submit_and_follow(spec, spec_path, sbatch, args.wait or validate)


def _reject_secrets(overrides: Sequence[str], environ: Mapping[str, str]) -> None:
    """A secret never goes on a command line (visible to every user) nor into the spec file."""
    known = environment_secrets(environ)
    for override in overrides:
        key, _, value = override.partition("=")
        key = key.lstrip("+~")
        holds_secret = any(secret in value for secret in known)
        if is_secret_name(key) or holds_secret:
            what = f"override {key!r} looks like a secret" if not holds_secret else (
                f"the value of override {key!r} contains a secret from your environment")
            raise LaunchError(
                f"{what}; export it in your environment (e.g. WANDB_API_KEY=...) instead, since command lines "
                "are visible to every user of the cluster and overrides are written to the job spec."
            )


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """Values of the environment's secret-looking variables (infra.redaction), shell path variables left out."""
    return secret_values({k: v for k, v in environ.items() if k not in NOT_SECRETS})


def _export_inputs(settings: Settings, cwd: Path) -> None:
    """Put RMR1_* inputs in the environment the recipe resolves, local paths made absolute."""
    for env in PATH_INPUTS:
        value = settings.get(env)
        if value is None:
            continue
        is_path = env != "RMR1_MODEL_PATH" or value.startswith((".", "/", "~")) or (cwd / value).exists()
        os.environ[env] = absolute(value, cwd) if is_path else value


def _compose(recipe: str, overrides: Sequence[str]):  # -> recipes.compose.Composed
    from recipes.compose import compose_recipe

    return compose_recipe(recipe, list(overrides))  # RecipeError is a UserError: one sentence, exit 2


def _check_logger_and_resume(cfg, settings: Settings) -> None:
    loggers = cfg.trainer.logger
    loggers = [loggers] if isinstance(loggers, str) else list(loggers or [])
    if "wandb" in loggers and not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") != "offline":
        raise LaunchError(
            "trainer.logger includes wandb but WANDB_API_KEY is not in your environment; export it in your shell "
            "(it is never read from a file or the command line) or drop wandb from trainer.logger."
        )
    if settings.integer("RMR1_REQUEUE") and cfg.trainer.resume_mode != "auto":
        raise LaunchError(
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
        raise LaunchError("sbatch is not on PATH; run this on a Slurm login node, or pass --local to use this machine.")
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
        driver_module=driver_module(composed.kind, settings.get("RMR1_DRIVER_MODULE"),
                                    settings.source("RMR1_DRIVER_MODULE")),
        kind=composed.kind,
        report=str(Path(absolute(str(report), Path.cwd()))) if report else None,
        env=env,
        requeue=bool(settings.integer("RMR1_REQUEUE")),
        max_requeues=settings.integer("RMR1_MAX_REQUEUES") or 0,
        ray_num_cpus=settings.integer("RMR1_RAY_NUM_CPUS"),
        ray_tmpdir=settings.get("RMR1_RAY_TMPDIR"),
        ray_timeout=settings.integer("RMR1_RAY_TIMEOUT") or 300,
        ray_node_ip=LOOPBACK if backend == "local" else None,  # --local: loopback only (launch.ray_node)
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


def _check_partition(resources, settings: Settings, recipe: str) -> None:  # resources: slurm_args.Resources
    from launch.partition import check_partition, read_partition_nodes

    nodes = read_partition_nodes()
    if nodes:
        check_partition(resources, settings, recipe, nodes)


def _submit_and_follow(spec: JobSpec, spec_path: Path, sbatch: list[str], wait: bool) -> int:
    from launch.slurm_jobs import cancel, job_state, refuse_if_hopeless, submit, wait_for_job

    name = _job_name(spec)
    try:
        job_id = submit(sbatch)
    except SubmitError:
        _remove_run_files(spec, spec_path)  # a refused submission leaves nothing behind
        raise
    print(f"submitted job {job_id}; log {Path(spec.log_dir) / f'{name}-{job_id}.log'}", flush=True)
    try:
        first = job_state(job_id)
        if first is not None:
            refuse_if_hopeless(first, name)  # a request the partition can never grant fails now, not never
        if not wait:
            return 0
        state = wait_for_job(job_id, name=name)
    except KeyboardInterrupt:
        if spec.mode == "validate":
            done = "cancelled" if cancel(job_id) else "could not cancel (run scancel yourself)"
            raise Cancelled(f"interrupted: {done} Slurm job {job_id} ({name}); nothing else is left queued.") from None
        raise Cancelled(f"interrupted: stopped following Slurm job {job_id} ({name}), which keeps running; "
                        f"stop it with scancel {job_id}.") from None
    print(f"job {job_id} ended {state.state} with exit code {state.exit_code} after {state.restarts} restart(s)")
    return _finish(spec, 0 if state.state == "COMPLETED" else (state.exit_code or 1))


def _remove_run_files(spec: JobSpec, spec_path: Path) -> None:
    spec_path.unlink(missing_ok=True)
    token = spec.env.get("RAY_AUTH_TOKEN_PATH")
    if token:
        Path(token).unlink(missing_ok=True)


def _finish(spec: JobSpec, code: int) -> int:
    """Print this run's validate report; a report from another run (or none) is said, never shown as ours."""
    if spec.mode != "validate" or not spec.report:
        return code
    import json

    from launch.validate import summary

    path = Path(spec.report)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or report.get("run_id") != spec.run_id:
        print(f"validate FAILED: {spec.recipe} wrote no report at {path} (exit code {code}); see the log above.")
        return code or 1
    print(summary(report))
    print(f"report: {path}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
