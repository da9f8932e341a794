"""The launcher's entry point: ``bash launch/<recipe>.sh`` runs ``python -m launch.submit <recipe> ...``.

    python -m launch.submit RECIPE [--validate] [--dry-run] [--local] [--wait] [cluster flags] [key=value ...]

Composes the recipe (with the overrides), checks the inputs (model path, data files, output dir), the
recipe and the request against the partition, and names every problem in one sentence BEFORE anything
is submitted or written; echoes the resolved configuration with the source of every value; then
renders the job's one script (``launch/jobs/``: ``ray symmetric-run`` for RL, torchrun per node for
SFT) and prints it (``--dry-run``), runs it here (``--local``, or inside an allocation) or submits it
with ``sbatch``. Validate mode (``--validate`` or ``VALIDATE=1``) waits for the job and prints its
report's verdict. :func:`submit` is the same path for ``launch.pipeline``, in process.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from infra.cli_errors import run_cli
from infra.redaction import is_secret_name, redact, secret_values
from launch.checks.chain import card_problems, card_warnings, driver_module, drop_pending
from launch.checks.echo import describe
from launch.checks.inputs import missing_inputs, missing_sentence, read_inputs
from launch.checks.recipe import check_node_env, check_recipe, print_warnings
from launch.errors import Cancelled, LaunchError, OneLineParser, SlurmError, SubmitError
from launch.jobs.request import Request, make_request
from launch.jobs.training import render_training
from launch.settings import (
    KNOBS,
    Settings,
    absolute,
    effective_python,
    flag_dest,
    resolve_settings,
    switch,
)
from launch.validate.spec import JobSpec, nodes_of

PROG = "launch"
REPO = Path(__file__).resolve().parents[1]
PATH_INPUTS = ("RMR1_MODEL_PATH", "RMR1_DATA_DIR", "RMR1_OUTPUT_DIR")
WHERE = {"local": "this machine (--local)", "allocation": "this allocation", "sbatch": "sbatch"}
DRY_RUN_SPEC = "<SPEC.json: written at submission>"  # a dry run writes nothing, so it names no real file
DRY_RUN_TOKEN = "<RAY_TOKEN: written at submission>"
# The shell's working-directory variables match the secret word "pwd" but hold paths, never secrets.
NOT_SECRETS = ("PWD", "OLDPWD")


@dataclass
class Prepared:
    """A checked job, rendered and not yet written: its script, the files it needs, how it runs."""

    name: str
    script: str
    log_dir: Path
    backend: str
    files: dict[Path, str]  # written (0600) before the job starts: the validate spec, the Ray token
    echo: str = ""
    warnings: tuple[str, ...] = ()
    report: Path | None = None
    run_id: str = ""
    recipe: str = ""

    @property
    def script_path(self) -> Path:
        return self.log_dir / f"{self.run_id or self.name}.sbatch"


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="launch/<recipe>.sh", description=__doc__.splitlines()[0])
    p.add_argument("recipe", help="a recipe in recipes/, e.g. rl_qwen7b")
    p.add_argument("overrides", nargs="*", default=[], help="Hydra overrides key=value, passed to verl")
    p.add_argument("--validate", action="store_true", help="check every node and the config instead of training")
    p.add_argument("--dry-run", action="store_true", help="print the config and the job script, submit nothing")
    p.add_argument("--local", action="store_true", help="run on this machine (one node), no Slurm")
    p.add_argument("--local-gpus", type=int, help="--local: GPUs to declare (default: nvidia-smi count)")
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
    job = prepare(args)
    print(job.echo)
    print_warnings(list(job.warnings))
    if args.dry_run:
        print("dry run: nothing submitted or written")
        return 0
    if job.backend in ("local", "allocation"):
        write_files(job)
        code = subprocess.run(["bash", str(job.script_path)], cwd=REPO, check=False).returncode
        return finish(job, code)
    job_id = sbatch(job, args.after)
    return follow(job, job_id, args.wait or job.report is not None)


def submit(recipe: str, flags: Sequence[str] = (), after: Sequence[str] = (), pending: Sequence[str] = ()) -> str:
    """Check, render and submit one recipe's job after the jobs ``after``; its Slurm job id (sbatch --parsable)."""
    return sbatch(prepare_recipe(recipe, flags, pending), after)


def prepare_recipe(recipe: str, flags: Sequence[str] = (), pending: Sequence[str] = (),
                   dry_run: bool = False) -> Prepared:
    """Every check the launcher runs before sbatch, and the job it would submit (``launch.pipeline``, in process).

    ``pending`` names inputs an earlier job writes; ``dry_run`` shows placeholders for the files not written.
    Raises LaunchError (one sentence) like the CLI.
    """
    args = parser().parse_intermixed_args([recipe, *flags])
    args.pending, args.dry_run = [*args.pending, *pending], dry_run
    return prepare(args, backend="sbatch")


def prepare(args: argparse.Namespace, backend: str | None = None) -> Prepared:
    """Every check, then the rendered job; nothing is written (the process environment is left as found)."""
    with _restored_environ():
        return _prepare(args, backend)


def _prepare(args: argparse.Namespace, backend: str | None) -> Prepared:
    validate = args.validate or switch("VALIDATE", os.environ.get("VALIDATE"))
    if args.local_gpus is not None and args.local_gpus < 0:
        raise LaunchError(f"--local-gpus is {args.local_gpus}; pass 0 or more GPUs to declare to the local run.")
    _reject_secrets(args.overrides, os.environ)
    settings = resolve_settings({k.env: getattr(args, flag_dest(k)) for k in KNOBS}, os.environ, args.env_file)
    cwd = Path.cwd()
    exported = _export_inputs(settings, cwd)
    composed = _compose(args.recipe, args.overrides)
    nnodes, gpus = nodes_of(composed.cfg)
    inputs = read_inputs(composed, cwd)
    missing = missing_inputs(inputs) + card_problems(composed, str(inputs.model.value), inputs.model_is_hub_id)
    missing = drop_pending(missing, args.pending) + check_node_env(settings)
    if missing:
        raise LaunchError(missing_sentence(args.recipe, missing))
    requeue = bool(settings.integer("RMR1_REQUEUE"))
    _check_logger_and_resume(composed.cfg, requeue)
    warnings = check_recipe(composed) + card_warnings(composed, str(inputs.model.value), inputs.model_is_hub_id)
    backend = backend or _backend(args)
    run_id = f"{args.recipe}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{os.getpid()}"
    log_dir = Path(absolute(str(settings.get("RMR1_LOG_DIR") or Path(inputs.checkpoint_dir) / "launch"), cwd))
    name = f"{args.recipe}-validate" if validate else args.recipe
    request = make_request(settings, name, nnodes, gpus, log_dir, requeue=requeue and not validate)
    if backend == "sbatch":
        check_request(request, settings.get("RMR1_PARTITION"), args.recipe)
    elif backend == "allocation":
        _check_allocation(nnodes, gpus, args.recipe)
    report = Path(absolute(str(args.report or log_dir / f"validate-{run_id}.json"), cwd)) if validate else None
    spec_path = log_dir / f"{run_id}.spec.json"
    spec = JobSpec(
        run_id=run_id, recipe=args.recipe, overrides=[*args.overrides, *inputs.pins],
        backend="local" if backend == "local" else "slurm", repo=str(REPO), nnodes=nnodes, gpus_per_node=gpus,
        log_dir=str(log_dir), output_dir=inputs.checkpoint_dir, output_root=inputs.output_root, report=str(report),
        requeue=requeue, ray_timeout=settings.integer("RMR1_RAY_TIMEOUT") or 300,
        min_free_gb=settings.integer("RMR1_MIN_FREE_GB"),
        local_gpus=_local_gpus(args) if backend == "local" else None,
        local_cpus=settings.integer("RMR1_RAY_NUM_CPUS"), ray_tmpdir=settings.get("RMR1_RAY_TMPDIR"),
    )
    files = {spec_path: spec.to_json()} if validate else {}
    env = {**exported, **settings.extra_env}
    if composed.kind != "sft":
        env |= _ray_auth(log_dir / f"{run_id}.ray-token", files, args.dry_run)
    driver = driver_module(composed.kind, settings.get("RMR1_DRIVER_MODULE"), settings.source("RMR1_DRIVER_MODULE"))
    python = effective_python(settings, sys.executable)
    overrides = [*spec.overrides, *(["trainer.resume_mode=auto"] if requeue and not _sets_resume(args.overrides)
                                    else [])]
    driver_args = ["--config-path", str(REPO / "recipes"), "--config-name", args.recipe, *overrides]
    spec_arg = DRY_RUN_SPEC if args.dry_run else str(spec_path)
    script = render_training(composed.kind, backend, request, settings, python, env, spec, spec_arg, validate, driver,
                     driver_args)
    job = Prepared(name=name, script=script, log_dir=log_dir, backend=backend, files=files, report=report,
                   run_id=run_id, recipe=args.recipe, warnings=tuple(warnings))
    where = "dry run" if args.dry_run else WHERE[backend]
    echo = describe(spec, settings, inputs, composed, job, "validate" if validate else "train", where)
    job.echo = redact(echo, environment_secrets(os.environ))
    return job


def check_request(request: Request, partition: str | None, what: str) -> None:
    """The request against the partition (sinfo); without sinfo it says so once and sbatch checks it later."""
    from launch.checks.partition import check_partition, read_partition_nodes

    nodes = read_partition_nodes()
    if nodes:
        check_partition(request, partition, what, nodes)
    elif nodes is None:
        _say_partition_unchecked()


@functools.cache
def _say_partition_unchecked() -> None:
    print("note: Slurm's sinfo cannot be reached from here, so the requests were not checked against the "
          "partition; sbatch checks them when they are submitted.", file=sys.stderr)


def write_files(job: Prepared) -> None:
    """The job's files, owner-only: the script (it names the token), the spec, the Ray token."""
    job.log_dir.mkdir(parents=True, exist_ok=True)
    if job.report:
        job.report.unlink(missing_ok=True)  # a report at this path is only ever this run's
    for path, text in {**job.files, job.script_path: job.script}.items():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)


def sbatch(job: Prepared, after: Sequence[str] = ()) -> str:
    """Write the job's files and submit its script; a refused submission leaves nothing behind."""
    from launch.jobs.slurm import submit as sbatch_submit

    write_files(job)
    dependency = [f"--dependency=afterok:{':'.join(after)}"] if after else []
    try:
        job_id = sbatch_submit(["sbatch", "--parsable", f"--chdir={REPO}", *dependency, str(job.script_path)])
    except SubmitError:
        for path in [*job.files, job.script_path]:
            path.unlink(missing_ok=True)
        raise
    print(f"submitted job {job_id}; script {job.script_path}; log {job.log_dir / f'{job.name}-{job_id}.log'}",
          flush=True)
    return job_id


def follow(job: Prepared, job_id: str, wait: bool) -> int:
    """Refuse a job that can never start; with ``wait``, follow it to its end (Ctrl-C: validate jobs are cancelled)."""
    from launch.jobs.slurm import cancel, job_state, refuse_if_hopeless, wait_for_job

    try:
        first = job_state(job_id)
        if first is not None:
            refuse_if_hopeless(first, job.name)  # a request the partition can never grant fails now, not never
        if not wait:
            return 0
        state = wait_for_job(job_id, name=job.name)
    except KeyboardInterrupt:
        if job.report is not None:
            done = "cancelled" if cancel(job_id) else "could not cancel (run scancel yourself)"
            raise Cancelled(f"interrupted: {done} Slurm job {job_id} ({job.name}); nothing else is left "
                            "queued.") from None
        raise Cancelled(f"interrupted: stopped following Slurm job {job_id} ({job.name}), which keeps running; "
                        f"stop it with scancel {job_id}.") from None
    print(f"job {job_id} ended {state.state} with exit code {state.exit_code} after {state.restarts} restart(s)")
    return finish(job, 0 if state.state == "COMPLETED" else (state.exit_code or 1))


def finish(job: Prepared, code: int) -> int:
    """Print this run's validate report; a report from another run (or none) is said, never shown as ours."""
    if job.report is None:
        return code
    import json

    from launch.validate.rl import summary

    try:
        report = json.loads(job.report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or report.get("run_id") != job.run_id:
        print(f"validate FAILED: {job.recipe} wrote no report at {job.report} (exit code {code}); see the log above.")
        return code or 1
    print(summary(report))
    print(f"report: {job.report}")
    return code


def _reject_secrets(overrides: Sequence[str], environ: Mapping[str, str]) -> None:
    """A secret never goes on a command line (visible to every user) nor into the job script."""
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
                "are visible to every user of the cluster and overrides are written to the job script."
            )


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """Values of the environment's secret-looking variables (infra.redaction), shell path variables left out."""
    return secret_values({k: v for k, v in environ.items() if k not in NOT_SECRETS})


@contextmanager
def _restored_environ() -> Iterator[None]:
    """The recipe resolves RMR1_* from the environment: set them for one job, then put everything back."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _export_inputs(settings: Settings, cwd: Path) -> dict[str, str]:
    """Put RMR1_* inputs in the environment the recipe resolves, local paths made absolute; returns them."""
    exported = {}
    for env in PATH_INPUTS:
        value = settings.get(env)
        if value is None:
            continue
        is_path = env != "RMR1_MODEL_PATH" or value.startswith((".", "/", "~")) or (cwd / value).exists()
        exported[env] = os.environ[env] = absolute(value, cwd) if is_path else value
    return exported


def _compose(recipe: str, overrides: Sequence[str]):  # -> recipes.compose.Composed
    from recipes.compose import compose_recipe

    return compose_recipe(recipe, list(overrides))  # RecipeError is a UserError: one sentence, exit 2


def _sets_resume(overrides: Sequence[str]) -> bool:
    return any(o.lstrip("+~").startswith("trainer.resume_mode=") for o in overrides)


def _check_logger_and_resume(cfg, requeue: bool) -> None:
    loggers = cfg.trainer.logger
    loggers = [loggers] if isinstance(loggers, str) else list(loggers or [])
    if "wandb" in loggers and not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") != "offline":
        raise LaunchError(
            "trainer.logger includes wandb but WANDB_API_KEY is not in your environment; export it in your shell "
            "(it is never read from a file or the command line) or drop wandb from trainer.logger."
        )
    if requeue and cfg.trainer.resume_mode != "auto":
        raise LaunchError(
            f"trainer.resume_mode is {cfg.trainer.resume_mode!r}, so a requeued job would restart from step 0; "
            "drop that override or pass --requeue 0."
        )


def _backend(args: argparse.Namespace) -> str:
    if args.local:
        return "local"
    if os.environ.get("SLURM_JOB_ID"):
        return "allocation"
    if not args.dry_run and shutil.which("sbatch") is None:
        raise LaunchError("sbatch is not on PATH; run this on a Slurm login node, or pass --local to use this machine.")
    return "sbatch"


def _check_allocation(nnodes: int, gpus: int, recipe: str) -> None:
    """Inside an allocation the script runs as it is: it must hold the nodes the recipe declares."""
    granted = int(os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or 0)
    if granted != nnodes:
        raise SlurmError(f"this allocation has {granted} node(s) but {recipe} declares trainer.nnodes={nnodes}; "
                         f"allocate --nodes={nnodes} --gpus-per-node={gpus}, or submit from a login node.")


def _ray_auth(token: Path, files: dict[Path, str], dry_run: bool) -> dict[str, str]:
    """A per-run Ray token (0600, beside the logs) unless RAY_AUTH_MODE=disabled was chosen explicitly."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {"RAY_AUTH_MODE": "disabled"}
    files[token] = secrets.token_hex(32)
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": DRY_RUN_TOKEN if dry_run else str(token)}


def _local_gpus(args: argparse.Namespace) -> int:
    """GPUs a --local run declares: --local-gpus, else what nvidia-smi lists (0 without it)."""
    if args.local_gpus is not None:
        return int(args.local_gpus)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    out = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


if __name__ == "__main__":
    raise SystemExit(main())
