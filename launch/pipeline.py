"""The whole chain as Slurm jobs: data -> distill -> SFT -> export -> RL -> export -> eval.

    bash launch/pipeline.sh qwen7b --data-args "--inputs pairs.jsonl" \\
        --distill-args "--teacher-url URL --teacher-model M --api-key-env TEACHER_API_KEY --max-cost 50" [--dry-run]

Every stage is one job, submitted with ``--dependency=afterok:<previous job>``, so a failed stage stops
the rest and nothing downstream spends GPU hours on a broken input. Before the FIRST job is submitted
every stage is checked: the inputs that exist already (pair files, the base model, the output folder,
the teacher's key variable), the recipes through the training launcher's own dry run (``--pending``
names the files an earlier stage will write), the cluster eval's plan, and that the SFT and RL recipes
train the prompt variant the data stage builds (the export writes it into the card the eval reads).
``--dry-run`` prints every command with placeholder job ids and submits nothing.
``--from STAGE`` starts later in the chain (the skipped stages' outputs must exist).

Paths: ``RMR1_OUTPUT_DIR`` (an existing shared folder) holds ``rm_r1/<recipe>/`` for each training run
and ``rm_r1/<recipe>/hf`` for its export; the data goes to ``RMR1_DATA_DIR`` (default
``$RMR1_OUTPUT_DIR/data/rm_r1``) and the distilled SFT set to ``<data>/sft``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.cli_errors import RunFailed, UserError, run_cli
from infra.hub import looks_like_hub_id
from launch.errors import OneLineParser
from launch.export.out import force_flag

PROG = "launch/pipeline.sh"
REPO = Path(__file__).resolve().parents[1]
STAGES = ("data", "distill", "sft", "export_sft", "rl", "export_rl", "eval")
_SUBMITTED = re.compile(r"submitted job (\d+)")


class PipelineError(UserError):
    """A chain that cannot start as asked; one sentence naming the stage, the input and the fix."""


@dataclass(frozen=True)
class Model:
    """One paper model: its recipes, base model, prompt variant and eval layout."""

    sft: str | None
    rl: str
    base: str
    variant: str
    eval_tp: int


MODELS = {
    "qwen7b": Model("sft_qwen7b", "rl_qwen7b", "Qwen/Qwen2.5-7B-Instruct", "instruct", 1),
    "qwen14b": Model("sft_qwen14b", "rl_qwen14b", "Qwen/Qwen2.5-14B-Instruct", "instruct", 2),
    "qwen32b": Model("sft_qwen32b", "rl_qwen32b", "Qwen/Qwen2.5-32B-Instruct", "instruct", 4),
    # DeepSeek-R1-Distill models already reason: the paper trains them with RL only (no distillation SFT).
    "ds7b": Model(None, "rl_ds7b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "reasoning", 1),
    "ds14b": Model(None, "rl_ds14b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", "reasoning", 2),
    "ds32b": Model(None, "rl_ds32b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "reasoning", 4),
}


@dataclass
class Stage:
    """One job of the chain: how to check it now, how to submit it, what it writes."""

    name: str
    command: list[str]
    writes: list[str]
    launcher: bool = False  # submitted through a launcher (it adds --after/--pending itself) or sbatch --wrap
    needs: list[str] = field(default_factory=list)  # inputs that must exist when the chain is submitted


@dataclass(frozen=True)
class Paths:
    out: Path
    data: Path

    def run(self, recipe: str) -> Path:
        return self.out / "rm_r1" / recipe

    def export(self, recipe: str) -> Path:
        return self.run(recipe) / "hf"


def plan(name: str, model: Model, paths: Paths, args: argparse.Namespace) -> list[Stage]:
    """Every stage of ``name``'s chain in order (the ds models have no distill/SFT/export_sft stages)."""
    py = sys.executable
    variant_dir = paths.data / model.variant
    stages = [Stage("data", [py, str(REPO / "data_prep" / "build_parquet.py"), "--out", str(paths.data),
                             "--tokenizer", args.base_model or model.base, "--no-progress",
                             *(["--distill-fraction", "0.12"] if model.sft else []), *_variant_flag(args, model),
                             *shlex.split(args.data_args)],
                    [str(variant_dir)], needs=_local_paths(args.data_args) + _local_paths(args.base_model or ""))]
    start_model = args.base_model or model.base
    if model.sft:
        sft_data = paths.data / "sft"
        stages += [
            Stage("distill", [py, str(REPO / "data_prep" / "distill.py"), "--input",
                              str(paths.data / "instruct" / "distill.parquet"), "--out", str(sft_data),
                              "--tokenizer", start_model, "--no-progress", *shlex.split(args.distill_args)],
                  [str(sft_data)], needs=_local_paths(args.distill_args)),
            Stage("sft", ["bash", str(REPO / "launch" / f"{model.sft}.sh"), "--model-path", start_model,
                          f"data.train_files={sft_data / 'train.parquet'}", *args.launcher_flags],
                  [str(paths.run(model.sft))], launcher=True),
            Stage("export_sft", [py, "-m", "launch.export", str(paths.run(model.sft)), "--out",
                                 str(paths.export(model.sft)), *force_flag(paths.export(model.sft), "sft")],
                  [str(paths.export(model.sft))]),
        ]
        start_model = str(paths.export(model.sft))
    stages += [
        Stage("rl", ["bash", str(REPO / "launch" / f"{model.rl}.sh"), "--model-path", start_model,
                     "--data-dir", str(paths.data), *args.launcher_flags], [str(paths.run(model.rl))], launcher=True),
        Stage("export_rl", [py, "-m", "launch.export", str(paths.run(model.rl)), "--out", str(paths.export(model.rl)),
                            *force_flag(paths.export(model.rl), "rl")], [str(paths.export(model.rl))]),
        Stage("eval", ["bash", str(REPO / "launch" / "eval.sh"), "--ckpt", str(paths.export(model.rl)),
                       "--benchmarks", args.benchmarks, "--tp", str(model.eval_tp), *args.launcher_flags],
              [str(paths.export(model.rl).parent / "hf-eval")], launcher=True),
    ]
    first = STAGES.index(args.from_stage)
    return [s for s in stages if STAGES.index(s.name) >= first]


def _variant_flag(args: argparse.Namespace, model: Model) -> list[str]:
    """Build only the variant the chain trains, unless --data-args chooses."""
    return [] if "--variant" in shlex.split(args.data_args) else ["--variant", model.variant]


def _local_paths(text: str) -> list[str]:
    """Local files named in pass-through flags (``x.jsonl``, ``name=./dir``); hub names are left alone."""
    found = []
    for token in shlex.split(text):
        named = "=" in token and not token.startswith("-")
        value = token.split("=", 1)[1] if named else token
        # a NAME=VALUE source is a hub id (owner/name) or else a local folder or file, which must exist now
        local_source = named and value and not looks_like_hub_id(value)
        if local_source or value.startswith(("/", "./", "../", "~")) or re.search(r"\.(jsonl|json|parquet)$", value):
            found.append(os.path.expanduser(value))
    return found


def check_stages(stages: list[Stage], model: Model, paths: Paths, args: argparse.Namespace) -> list[str]:
    """Every problem that can be seen before submitting, as ``stage: problem`` phrases.

    The quick checks (files, variables, variants) come first; the launchers' own dry runs (seconds each)
    only when those passed, so a typo'd path is reported at once.
    """
    problems = quick_checks(stages, model, paths, args)
    if problems:
        return problems
    produced: set[str] = set()
    for stage in stages:
        if stage.launcher:
            problems += _launcher_dry_run(stage, produced)
        produced.update(stage.writes)
    return problems


def quick_checks(stages: list[Stage], model: Model, paths: Paths, args: argparse.Namespace) -> list[str]:
    """Existing inputs, the teacher's key variable, the skipped stages' outputs, one prompt variant for the chain."""
    problems = []
    if not paths.out.is_dir():
        problems.append(f"chain: output dir {paths.out} does not exist (create it or set RMR1_OUTPUT_DIR)")
    for stage in stages:
        problems += [f"{stage.name}: {p} does not exist" for p in stage.needs if not Path(p).exists()]
        if stage.name == "distill":
            problems += _teacher_key_problems(args.distill_args)
    skipped = set(STAGES[:STAGES.index(args.from_stage)])
    if "export_sft" in skipped and model.sft and not (paths.export(model.sft) / "config.json").is_file():
        problems.append(f"rl: --from {args.from_stage} skips the SFT export but {paths.export(model.sft)} holds none")
    if "data" in skipped and not (paths.data / model.variant / "train.parquet").is_file():
        problems.append(f"{args.from_stage}: --from skips the data stage but {paths.data / model.variant} "
                        "holds no data")
    problems += _variant_problems(model)
    return problems


def _variant_problems(model: Model) -> list[str]:
    """The SFT and RL recipes must train the prompt variant the chain builds data for."""
    from recipes.compose import compose_recipe
    from recipes.manifest import recipe_variant

    problems = []
    for recipe in [r for r in (model.sft, model.rl) if r]:
        variant = recipe_variant(compose_recipe(recipe))
        if variant != model.variant:
            problems.append(f"{recipe}: trains the {variant} prompt but the chain builds {model.variant} data")
    return problems


def _teacher_key_problems(distill_args: str) -> list[str]:
    tokens = shlex.split(distill_args)
    if "--teacher-url" not in tokens or "--teacher-model" not in tokens:
        return ["distill: --distill-args must name the teacher (--teacher-url URL --teacher-model NAME ...)"]
    problems = []
    for flag in ("--teacher-url", "--fix-teacher-url"):
        if flag in tokens and tokens.index(flag) + 1 < len(tokens):
            url = tokens[tokens.index(flag) + 1]
            if not re.match(r"^https?://[^/\s]+", url):
                problems.append(f"distill: {flag} {url!r} is not an http(s) URL; pass the server's base URL "
                                "(e.g. http://127.0.0.1:8000/v1)")
    for flag in ("--api-key-env", "--fix-api-key-env"):
        if flag in tokens and tokens.index(flag) + 1 < len(tokens):
            var = tokens[tokens.index(flag) + 1]
            if not os.environ.get(var):
                problems.append(f"distill: ${var} (named by {flag}) is not set; export the key in your shell")
    return problems


def _launcher_dry_run(stage: Stage, produced: set[str]) -> list[str]:
    """The stage's own launcher in --dry-run, told which inputs earlier stages will write."""
    pending = [a for p in sorted(produced) for a in ("--pending", p)]
    argv = [*stage.command, "--dry-run", *pending]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=Path.cwd(), timeout=600, check=False)
    if done.returncode == 0:
        return []
    lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"]
    return [f"{stage.name}: {lines[-1]}"]


def submit_stage(stage: Stage, after: str | None, produced: list[str], log_dir: Path, dry_run: bool) -> str:
    """Submit one stage after job ``after``; returns its job id (a placeholder in a dry run)."""
    if stage.launcher:
        argv = [*stage.command, *([] if after is None else ["--after", after])]
        argv += [a for p in produced for a in ("--pending", p)]
    else:
        argv = cpu_job(stage, after, log_dir)
    print(f"[{stage.name}] " + shlex.join(argv), flush=True)
    if dry_run:
        return f"<{stage.name}>"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    found = _SUBMITTED.search(done.stdout) if stage.launcher else re.match(r"^(\d+)", done.stdout.strip())
    if done.returncode != 0 or not found:
        raise RunFailed(f"submitting stage {stage.name} failed (exit {done.returncode}): "
                        f"{(done.stderr.strip() or done.stdout.strip())[-400:]}; the stages before it stay queued.")
    print(f"[{stage.name}] job {found.group(1)}", flush=True)
    return found.group(1)


def cpu_job(stage: Stage, after: str | None, log_dir: Path) -> list[str]:
    """sbatch for a stage that needs no GPU: data, distillation (a remote teacher), export (verl's merger on CPU).

    Partition, account, QOS and time come from the launcher's cluster settings (flags are not read here:
    environment, then the RMR1_ENV_FILE file, then the defaults).
    """
    from launch.settings import resolve_settings

    settings = resolve_settings({}, os.environ)
    argv = ["sbatch", "--parsable", f"--job-name=rmr1-{stage.name}", "--nodes=1", "--ntasks=1",
            "--cpus-per-task=16", f"--time={settings.get('RMR1_TIME')}",
            f"--output={log_dir / f'{stage.name}-%j.log'}", "--open-mode=append",
            "--export=ALL", f"--chdir={REPO}"]
    if stage.name.startswith("export"):
        argv.append("--mem=0")  # the merger holds the full bf16 model plus one shard set: all the node's memory
    for env, flag in (("RMR1_PARTITION", "--partition"), ("RMR1_ACCOUNT", "--account"), ("RMR1_QOS", "--qos")):
        if settings.get(env):
            argv.append(f"{flag}={settings.get(env)}")
    if after:
        argv.append(f"--dependency=afterok:{after}")
    node_env = [f"{k}={settings.get(k)}" for k in ("RMR1_MODULES", "RMR1_SETUP") if settings.get(k)]
    command = ["env", *node_env] if node_env else []
    command += ["bash", str(REPO / "launch" / "node_env.sh"), *stage.command]
    return argv + ["--wrap", "exec " + shlex.join(command)]


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("model", choices=sorted(MODELS), help="which paper model's chain")
    p.add_argument("--data-args", default="", help="flags for data_prep/build_parquet.py (e.g. '--inputs x.jsonl')")
    p.add_argument("--distill-args", default="", help="flags for data_prep/distill.py (teacher URL, model, key var)")
    p.add_argument("--base-model", help="local folder of the base model (default: its hub id)")
    p.add_argument("--benchmarks", default="rewardbench", help="eval CLIs for the last stage (default rewardbench)")
    p.add_argument("--from", dest="from_stage", choices=STAGES, default="data", help="first stage to submit")
    p.add_argument("--dry-run", action="store_true", help="check everything, print every command, submit nothing")
    p.epilog = "Flags after -- go to every launcher as they are (e.g. -- --partition gpu --time 48:00:00)."
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from launch.eval_cluster import split_passthrough

    own, args_after = split_passthrough(sys.argv[1:] if argv is None else list(argv))
    args = parser().parse_intermixed_args(own)
    args.launcher_flags = args_after
    out = os.environ.get("RMR1_OUTPUT_DIR")
    if not out:
        raise PipelineError("RMR1_OUTPUT_DIR is not set; export it as an existing shared folder for every stage.")
    paths = Paths(Path(out).expanduser().resolve(),
                  Path(os.environ.get("RMR1_DATA_DIR") or Path(out) / "data" / "rm_r1").expanduser().resolve())
    model = MODELS[args.model]
    stages = plan(args.model, model, paths, args)
    problems = check_stages(stages, model, paths, args)
    if problems:
        raise PipelineError(f"Not submitting the {args.model} chain: " + "; ".join(problems) + ".")
    print(f"== {args.model} chain: {' -> '.join(s.name for s in stages)} (every stage checked)", flush=True)
    log_dir = paths.out / "rm_r1" / "pipeline"
    if not args.dry_run:
        log_dir.mkdir(parents=True, exist_ok=True)
    after, produced = None, []
    for stage in stages:
        after = submit_stage(stage, after, produced, log_dir, args.dry_run)
        produced += stage.writes
    print("dry run: nothing submitted" if args.dry_run else f"chain submitted; last job {after}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))
