"""The whole chain as Slurm jobs: data -> distill -> SFT -> export -> RL -> export -> eval.

    bash launch/pipeline.sh qwen7b --data-args "--inputs pairs.jsonl" \\
        --distill-args "--teacher-url URL --teacher-model M --api-key-env TEACHER_API_KEY --max-cost 50" [--dry-run]

Every stage is one job, submitted with ``--dependency=afterok:<previous job>``, so a failed stage stops
the rest and nothing downstream spends GPU hours on a broken input. Before the FIRST job is submitted
every stage is checked and its job script rendered, in this process, by the same code that submits it
(``launch.submit.submit`` for SFT and RL with ``pending`` naming the files an earlier stage will write,
``launch.cluster_eval.cli.checked`` for the eval, the one resource model of ``launch/jobs/request.py`` for the
CPU stages): the inputs that exist already (pair files, the base model, the output folder, the teacher's
key variable), the recipes, every request against the partition (sinfo), and that the SFT and RL recipes
train the prompt variant the data stage builds (the export writes it into the card the eval reads).
``--dry-run`` prints every job script with placeholder job ids and submits nothing; a real run submits
the scripts it checked. Flags after ``--`` (``--partition``, ``--account``, ``--time``, ``--cpus``...)
reach every stage.
``--from STAGE`` starts later in the chain (the skipped stages' outputs must exist).

Paths: ``RMR1_OUTPUT_DIR`` (an existing shared folder) holds ``rm_r1/<recipe>/`` for each training run
and ``rm_r1/<recipe>/hf`` for its export; the data goes to ``RMR1_DATA_DIR`` (default
``$RMR1_OUTPUT_DIR/data/rm_r1``) and the distilled SFT set to ``<data>/sft``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.cli_errors import UserError, run_cli
from infra.hub import looks_like_hub_id
from launch.checks.chain import key_name_problems
from launch.errors import LaunchError, OneLineParser
from launch.export.out import force_flag
from launch.settings import split_words

PROG = "launch/pipeline.sh"
REPO = Path(__file__).resolve().parents[1]
STAGES = ("data", "distill", "sft", "export_sft", "rl", "export_rl", "eval")


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
    """One job of the chain: its command (a CPU job) or launcher argv (``sft``, ``rl``, ``eval``), what it writes."""

    name: str
    command: list[str]
    writes: list[str]
    launcher: bool = False  # checked and rendered by launch.submit / launch.cluster_eval.cli
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
                             *args.data_words],
                    [str(variant_dir)], needs=_local_paths(args.data_words) + _local_paths([args.base_model or ""]))]
    start_model = args.base_model or model.base
    if model.sft:
        sft_data = paths.data / "sft"
        stages += [
            Stage("distill", [py, str(REPO / "data_prep" / "distill.py"), "--input",
                              str(paths.data / "instruct" / "distill.parquet"), "--out", str(sft_data),
                              "--tokenizer", start_model, "--no-progress", *args.distill_words],
                  [str(sft_data)], needs=_local_paths(args.distill_words)),
            Stage("sft", [model.sft, "--model-path", start_model, f"data.train_files={sft_data / 'train.parquet'}",
                          *args.launcher_flags],
                  [str(paths.run(model.sft))], launcher=True),
            Stage("export_sft", [py, "-m", "launch.export", str(paths.run(model.sft)), "--out",
                                 str(paths.export(model.sft)), *force_flag(paths.export(model.sft), "sft")],
                  [str(paths.export(model.sft))]),
        ]
        start_model = str(paths.export(model.sft))
    stages += [
        Stage("rl", [model.rl, "--model-path", start_model, "--data-dir", str(paths.data), *args.launcher_flags],
              [str(paths.run(model.rl))], launcher=True),
        Stage("export_rl", [py, "-m", "launch.export", str(paths.run(model.rl)), "--out", str(paths.export(model.rl)),
                            *force_flag(paths.export(model.rl), "rl")], [str(paths.export(model.rl))]),
        Stage("eval", ["--ckpt", str(paths.export(model.rl)), "--benchmarks", args.benchmarks, "--tp",
                       str(model.eval_tp), *args.launcher_flags],
              [str(paths.export(model.rl).parent / "hf-eval")], launcher=True),
    ]
    first = STAGES.index(args.from_stage)
    return [s for s in stages if STAGES.index(s.name) >= first]


def _variant_flag(args: argparse.Namespace, model: Model) -> list[str]:
    """Build only the variant the chain trains, unless --data-args chooses."""
    return [] if "--variant" in args.data_words else ["--variant", model.variant]


def _local_paths(tokens: Sequence[str]) -> list[str]:
    """Local files named in pass-through flags (``x.jsonl``, ``name=./dir``); hub names are left alone."""
    found = []
    for token in tokens:
        named = "=" in token and not token.startswith("-")
        value = token.split("=", 1)[1] if named else token
        # a NAME=VALUE source is a hub id (owner/name) or else a local folder or file, which must exist now
        local_source = named and value and not looks_like_hub_id(value)
        if local_source or value.startswith(("/", "./", "../", "~")) or re.search(r"\.(jsonl|json|parquet)$", value):
            found.append(os.path.expanduser(value))
    return found


def quick_checks(stages: list[Stage], model: Model, paths: Paths, args: argparse.Namespace) -> list[str]:
    """Existing inputs, the teacher's key variable, the skipped stages' outputs, one prompt variant for the chain."""
    problems = []
    if not paths.out.is_dir():
        problems.append(f"chain: output dir {paths.out} does not exist (create it or set RMR1_OUTPUT_DIR)")
    for stage in stages:
        problems += [f"{stage.name}: {p} does not exist" for p in stage.needs if not Path(p).exists()]
        if stage.name == "distill":
            problems += _teacher_key_problems(args.distill_words)
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


def _teacher_key_problems(tokens: list[str]) -> list[str]:
    if "--teacher-url" not in tokens or "--teacher-model" not in tokens:
        return ["distill: --distill-args must name the teacher (--teacher-url URL --teacher-model NAME ...)"]
    problems = key_name_problems("distill", tokens)
    for flag in ("--teacher-url", "--fix-teacher-url"):
        if flag in tokens and tokens.index(flag) + 1 < len(tokens):
            url = tokens[tokens.index(flag) + 1]
            if not re.match(r"^https?://[^/\s]+", url):
                problems.append(f"distill: {flag} {url!r} is not an http(s) URL; pass the server's base URL "
                                "(e.g. http://127.0.0.1:8000/v1)")
    for flag in ("--api-key-env", "--fix-api-key-env"):
        if flag in tokens and tokens.index(flag) + 1 < len(tokens) and not problems:
            var = tokens[tokens.index(flag) + 1]
            if not os.environ.get(var):
                problems.append(f"distill: ${var} (named by {flag}) is not set; export the key in your shell")
    return problems


def prepare_stages(stages: list[Stage], paths: Paths, args: argparse.Namespace) -> list[Any]:
    """Each stage checked and rendered exactly as its submission will be (``launch.submit.Prepared`` each)."""
    from launch.cluster_eval.cli import checked
    from launch.cluster_eval.cli import parser as eval_parser
    from launch.submit import prepare_recipe

    jobs: list[Any] = []
    produced: list[str] = []
    problems: list[str] = []
    dry = ["--dry-run"] if args.dry_run else []
    for stage in stages:
        try:
            if stage.name in ("sft", "rl"):
                jobs.append(prepare_recipe(stage.command[0], stage.command[1:], produced, args.dry_run))
            elif stage.name == "eval":
                eval_args = eval_parser().parse_intermixed_args([*stage.command, *dry])
                eval_args.extra, eval_args.pending = [], list(produced)
                jobs.append(checked(eval_args))
            else:
                jobs.append(cpu_job(stage, paths, args.launcher_flags))
        except UserError as err:
            problems.append(f"{stage.name}: {str(err).rstrip('.')}")
        produced += stage.writes
    if problems:
        raise PipelineError(f"Not submitting the {args.model} chain: " + "; ".join(problems) + ".")
    return jobs


def cpu_job(stage: Stage, paths: Paths, launcher_flags: list[str]) -> Any:  # -> launch.submit.Prepared
    """A stage that needs no GPU (data, distillation, export on CPU): the launcher's cluster flags and request."""
    from launch.jobs import render as r
    from launch.jobs.request import make_request
    from launch.settings import KNOBS, flag_dest, resolve_settings
    from launch.submit import Prepared, check_request
    from launch.submit import parser as launcher_parser

    flags = launcher_parser().parse_intermixed_args(["-", *launcher_flags])
    settings = resolve_settings({k.env: getattr(flags, flag_dest(k)) for k in KNOBS}, os.environ, flags.env_file)
    log_dir = paths.out / "rm_r1" / "pipeline"
    # the merger holds the full bf16 model plus one shard set: all of the node's memory
    request = make_request(settings, f"rmr1-{stage.name}", 1, 0, log_dir,
                           mem="0" if stage.name.startswith("export") else None)
    check_request(request, settings.get("RMR1_PARTITION"), f"stage {stage.name}")
    setup = r.setup(str(REPO), sys.executable, settings.get("RMR1_MODULES"), settings.get("RMR1_SETUP"),
                    settings.extra_env)
    script = r.render("cpu", header=r.header(f"pipeline stage {stage.name}", request, setup), name=stage.name,
                      command=r.quote(stage.command))
    return Prepared(name=request.name, script=script, log_dir=log_dir, backend="sbatch", files={},
                    run_id=f"{stage.name}-{os.getpid()}")


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
    from launch.cluster_eval.cli import split_passthrough

    own, args_after = split_passthrough(sys.argv[1:] if argv is None else list(argv))
    args = parser().parse_intermixed_args(own)
    args.launcher_flags = args_after
    args.data_words = split_words("--data-args", args.data_args)
    args.distill_words = split_words("--distill-args", args.distill_args)
    out = os.environ.get("RMR1_OUTPUT_DIR")
    if not out:
        raise PipelineError("RMR1_OUTPUT_DIR is not set; export it as an existing shared folder for every stage.")
    paths = Paths(Path(out).expanduser().resolve(),
                  Path(os.environ.get("RMR1_DATA_DIR") or Path(out) / "data" / "rm_r1").expanduser().resolve())
    model = MODELS[args.model]
    stages = plan(args.model, model, paths, args)
    problems = quick_checks(stages, model, paths, args)
    if problems:
        raise PipelineError(f"Not submitting the {args.model} chain: " + "; ".join(problems) + ".")
    jobs = prepare_stages(stages, paths, args)
    print(f"== {args.model} chain: {' -> '.join(s.name for s in stages)} (every stage checked)", flush=True)
    after: str | None = None
    for index, (stage, job) in enumerate(zip(stages, jobs, strict=True)):
        dependency = f" --dependency=afterok:{after or f'<{stages[index - 1].name}>'}" if index else ""
        print(f"[{stage.name}] sbatch --parsable{dependency} {job.script_path}", flush=True)
        if args.dry_run:
            print(job.script, flush=True)
            continue
        from launch.submit import sbatch

        try:
            after = sbatch(job, [after] if after else [])
        except LaunchError as err:
            raise PipelineError(f"submitting stage {stage.name} failed: {str(err).rstrip('.')}; the stages "
                                "before it stay queued.") from None
    print("dry run: nothing submitted" if args.dry_run else f"chain submitted; last job {after}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))
