"""Cluster eval: ``bash launch/eval.sh --ckpt HF_DIR --benchmarks rewardbench[,...]`` on Slurm.

    bash launch/eval.sh --ckpt HF_DIR [--benchmarks rewardbench,rmbench] [--nodes 1] [--tp 1] [--replicas N]
                        [--validate] [--dry-run] [cluster flags] [-- extra eval/run_all.py flags]

N data-parallel vLLM replicas (``--tp`` GPUs each, tensor parallel inside a replica; by default as many
as the nodes hold) each judge a disjoint shard (``eval/run_all.py --shard i/N``, one ``srun`` step with
its own GPUs in the rendered job script, ``launch/jobs/eval.sh.in``). Their generation caches are merged
(``python -m eval.shards merge-caches``) and one
unsharded ``eval/run_all.py`` on the merged cache re-scores everything, so the report's numbers are
those of a single-process run. Finally the scores go into the checkpoint's model card
(``python -m launch.model_card HF_DIR --eval ...``). vLLM's prefix caching is on in the backend
(every judgment shares the system prompt). Everything is checked before ``sbatch``: the folder is a
Hugging Face model, its card (or ``--variant``) names the judge prompt, the benchmarks exist, the
GPU layout divides, the request fits the partition (sinfo). ``--validate`` runs one check step per
replica (its GPUs, vLLM, the model) instead. ``--wait`` prints the merged scores; Ctrl-C while waiting
cancels a validate job and says what a running eval will still write. Cluster flags and the env file
are the training launcher's (launch/settings.py, the one resource model in launch/jobs/request.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from data_prep.prompts import VARIANTS
from infra.cli_errors import UserError, run_cli
from infra.model_card import read_block
from launch.checks.chain import key_name_problems
from launch.errors import OneLineParser
from launch.settings import KNOBS, effective_python, flag_dest, resolve_settings

PROG = "launch/eval.sh"
REPO = Path(__file__).resolve().parents[2]
SCHEMA = "launch-eval-spec-v1"
DEFAULT_BENCHMARKS = "rewardbench"
BACKENDS = ("vllm", "hf")  # hf: CPU tries and the local test cluster; the cluster runs vllm


class EvalLaunchError(UserError):
    """A cluster eval that cannot start as asked; one sentence naming the input and the fix."""


@dataclass
class EvalSpec:
    """One cluster eval: written beside the reports, read by launch.cluster_eval.validate inside the allocation."""

    run_id: str
    ckpt: str
    benchmarks: list[str]
    out: str
    python: str
    repo: str
    nodes: int
    gpus_per_node: int
    tp: int
    replicas: int
    backend: str
    mode: str
    extra: list[str] = field(default_factory=list)
    variant: str | None = None
    schema: str = SCHEMA

    def eval_argv(self, *more: str) -> list[str]:
        """``eval/run_all.py`` for this judge with the shared flags."""
        argv = [self.python, str(Path(self.repo) / "eval" / "run_all.py"), "--ckpt", self.ckpt,
                "--benchmarks", ",".join(self.benchmarks), "--backend", self.backend, "--no-progress"]
        if self.backend == "vllm":
            argv += ["--tensor-parallel-size", str(self.tp)]
        if self.variant:
            argv += ["--variant", self.variant]
        return argv + list(self.extra) + list(more)

    def replica_argv(self, index: int) -> list[str]:
        shard = Path(self.out) / "shards" / str(index)
        return self.eval_argv("--shard", f"{index}/{self.replicas}", "--out", str(shard), "--no-plots")

    def merge_argv(self) -> list[str]:
        caches = [str(Path(self.out) / "shards" / str(i) / "generations.jsonl") for i in range(self.replicas)]
        return [self.python, "-m", "eval.shards", "merge-caches", "--out", self.merged_cache, *caches]

    @property
    def report_path(self) -> str:
        """The validate report (one row per replica, launch.cluster_eval.validate --report)."""
        return str(Path(self.out) / "launch" / f"validate-{self.run_id}.json")

    @property
    def merged_cache(self) -> str:
        return str(Path(self.out) / "generations.jsonl")

    def final_argv(self) -> list[str]:
        return self.eval_argv("--out", self.out, "--cache", self.merged_cache)

    def card_argv(self) -> list[str] | None:
        """Record the scores in the card (None without a card: --variant stood in for it)."""
        if self.variant and not read_block(self.ckpt):
            return None
        summaries = [a for b in self.benchmarks for a in ("--eval", str(Path(self.out) / b / "summary.json"))]
        return [self.python, "-m", "launch.model_card", self.ckpt, *summaries]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> EvalSpec:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise EvalLaunchError(f"{path} is not a {SCHEMA} spec; resubmit with launch/eval.sh.")
        return cls(**data)


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", type=Path, required=True, help="exported Hugging Face folder (python -m launch.export)")
    p.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS, help="comma-separated eval CLIs (default rewardbench)")
    p.add_argument("--out", type=Path, help="report folder (default HF_DIR-eval beside the model folder)")
    p.add_argument("--nodes", type=int, default=1, help="nodes to allocate (default 1)")
    p.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per node (default 8)")
    p.add_argument("--tp", type=int, default=1, help="tensor parallel GPUs per replica (default 1)")
    p.add_argument("--replicas", type=int, help="data-parallel replicas (default nodes x gpus-per-node / tp)")
    p.add_argument("--backend", choices=BACKENDS, default="vllm", help="judge backend on the nodes (default vllm)")
    p.add_argument("--variant", choices=VARIANTS, help="judge prompt variant when the card has none")
    p.add_argument("--validate", action="store_true", help="check every replica's step instead of judging")
    p.add_argument("--dry-run", action="store_true", help="print the plan and commands; submit and write nothing")
    p.add_argument("--wait", action="store_true", help="wait for the job (implied by --validate)")
    p.add_argument("--env-file", type=Path, help="cluster env file (default: $RMR1_ENV_FILE)")
    p.add_argument("--after", action="append", default=[], metavar="JOB_ID",
                   help="start only after this Slurm job succeeds (launch/pipeline.sh)")
    p.add_argument("--pending", action="append", default=[], metavar="PATH",
                   help="an input an --after job writes (the --ckpt export): not required to exist yet")
    for knob in KNOBS:
        if knob.env.startswith("RMR1_") and knob.env not in ("RMR1_MODEL_PATH", "RMR1_DATA_DIR", "RMR1_OUTPUT_DIR"):
            p.add_argument(knob.flag, dest=flag_dest(knob), metavar=knob.env, help=f"{knob.help} [{knob.source}]")
    p.epilog = "Flags after -- go to eval/run_all.py as they are (e.g. -- --data rmb=DIR --max-new-tokens 4096)."
    return p


def split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    """``(own flags, flags after --)``: argparse would read the passed-through flags as its own."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def check(args: argparse.Namespace) -> list[str]:
    """Every problem with the request, one phrase each (nothing is submitted when any exists)."""
    problems = []
    ckpt = args.ckpt
    if any(str(ckpt).startswith(str(Path(p).expanduser().resolve())) for p in args.pending):
        pass  # an --after job exports it (with its card); eval_validate and the eval CLIs check it then
    elif not (ckpt / "config.json").is_file():
        problems.append(f"--ckpt {ckpt} is not a Hugging Face model folder (no config.json); export the checkpoint "
                        "with python -m launch.export")
    elif not args.variant and not read_block(ckpt).get("prompt_variant"):
        problems.append(f"--ckpt {ckpt} has no model card naming rm_r1.prompt_variant; export it with "
                        "python -m launch.export or pass --variant instruct|reasoning")
    unknown = [b for b in benchmark_list(args.benchmarks) if not (REPO / "eval" / f"{b}.py").is_file()]
    if unknown:
        problems.append(f"benchmark(s) {', '.join(unknown)} (no eval/<name>.py)")
    if min(args.nodes, args.gpus_per_node, args.tp) < 1 or args.gpus_per_node % args.tp:
        problems.append(f"a GPU layout where --tp {args.tp} divides --gpus-per-node {args.gpus_per_node} "
                        f"(both >= 1, --nodes {args.nodes} >= 1)")
    elif args.replicas is not None and not 1 <= args.replicas <= capacity(args):
        problems.append(f"--replicas {args.replicas} between 1 and {capacity(args)} (what {args.nodes} node(s) of "
                        f"{args.gpus_per_node} GPUs hold at --tp {args.tp})")
    out_parent = _nearest_existing(args.out or default_out(ckpt))
    if not os.access(out_parent, os.W_OK):
        problems.append(f"write access to {out_parent} for the reports (pass --out)")
    return problems


def default_out(ckpt: Path) -> Path:
    """Reports beside the model folder, not in it: an uploaded model folder stays the model only."""
    return ckpt.parent / f"{ckpt.name}-eval"


def benchmark_list(text: str) -> list[str]:
    return [b.strip() for b in text.split(",") if b.strip()]


def capacity(args: argparse.Namespace) -> int:
    return args.nodes * (args.gpus_per_node // args.tp)


def placement(spec: EvalSpec, nodes: Sequence[str]) -> list[str]:
    """The node of each replica: replicas fill a node's GPUs before the next node."""
    per_node = spec.gpus_per_node // spec.tp
    return [nodes[i // per_node] for i in range(spec.replicas)]


def main(argv: Sequence[str] | None = None) -> int:
    own, extra = split_passthrough(sys.argv[1:] if argv is None else list(argv))
    args = parser().parse_intermixed_args(own)
    args.extra = extra
    job = checked(args)
    print(job.echo)
    if args.dry_run:
        print("dry run: nothing submitted or written")
        return 0
    from launch.submit import sbatch

    job_id = sbatch(job, args.after)
    return follow(job, job_id, args.wait or args.validate)


def checked(args: argparse.Namespace) -> Any:  # -> launch.submit.Prepared
    """Every check of the request (launch.pipeline's eval stage runs the same), then the rendered job."""
    args.ckpt = args.ckpt.expanduser().resolve()
    pasted = key_name_problems("eval", args.extra)
    if pasted:
        raise EvalLaunchError(f"Not submitting the eval: {pasted[0]}.")
    problems = check(args)
    if problems:
        raise EvalLaunchError("Not submitting the eval: missing " + "; missing ".join(problems) + ".")
    return prepare(args)


def prepare(args: argparse.Namespace) -> Any:  # -> launch.submit.Prepared
    """The checked eval job: the request fits the partition, the script is rendered; nothing written."""
    from launch.jobs.request import make_request
    from launch.submit import Prepared, check_request

    settings = resolve_settings({k.env: getattr(args, flag_dest(k), None) for k in KNOBS}, os.environ, args.env_file)
    spec = make_spec(args, settings)
    log_dir = Path(settings.get("RMR1_LOG_DIR") or Path(spec.out) / "launch")
    spec_path = log_dir / f"{spec.run_id}.spec.json"
    request = make_request(settings, "eval", spec.nodes, spec.gpus_per_node, log_dir)
    check_request(request, settings.get("RMR1_PARTITION"), "the eval")
    script = render_script(spec, request, settings, "<SPEC.json: written at submission>" if args.dry_run
                           else str(spec_path))
    job = Prepared(name="eval", script=script, log_dir=log_dir, backend="sbatch",
                   files={spec_path: spec.to_json()}, run_id=spec.run_id, recipe="eval")
    job.echo = describe(spec, job)
    job.spec = spec  # type: ignore[attr-defined]  # follow() reads the reports it names
    return job


def render_script(spec: EvalSpec, request: Any, settings: Any, spec_arg: str) -> str:
    """The eval job script: one srun step per replica, then the merge, the re-scoring run and the card."""
    from launch.jobs import render as r

    setup = r.setup(spec.repo, spec.python, settings.get("RMR1_MODULES"), settings.get("RMR1_SETUP"),
                    settings.extra_env)
    header = r.header(f"cluster eval of {spec.ckpt} ({spec.mode})", request, setup)
    share = max(1, request.cpus_per_node * spec.tp // spec.gpus_per_node)
    per_node = spec.gpus_per_node // spec.tp
    block = []
    for index in range(spec.replicas):
        command = ([spec.python, "-m", "launch.cluster_eval.validate", "--spec", spec_arg, "--replica", str(index)]
                   if spec.mode == "validate" else spec.replica_argv(index))
        # --gres (not --gpus-per-task): a step's own GPU count under the job's --gpus-per-node, so steps share a node
        node = f'"${{nodes[{index // per_node}]}}"'
        block.append(f'echo "replica {index}/{spec.replicas} on "{node}')
        block.append(f'srun --exact --nodes=1 --ntasks=1 --nodelist={node} '
                     f"--gres=gpu:{spec.tp} --cpus-per-task={share} --kill-on-bad-exit=1 \\\n  {r.quote(command)} &\n"
                     "pids+=($!)")
    if spec.mode == "validate":
        report = [spec.python, "-m", "launch.cluster_eval.validate", "--spec", spec_arg, "--report"]
        after = r.quote(report) + '\nexit "$failed"'
    else:
        card = spec.card_argv()
        after = "\n".join([
            'if [ "$failed" -ne 0 ]; then',
            '  echo "not merging: a replica failed; resubmit the same command to resume from the shard caches"',
            "  exit 1", "fi", r.quote(spec.merge_argv()), r.quote(spec.final_argv()),
            r.quote(card) if card else "# no model card to update (--variant stood in for it)"])
    return r.render("eval", header=header, tp=str(spec.tp), replicas=str(spec.replicas),
                    replicas_block="\n".join(block), after=after)


def follow(job: Any, job_id: str, wait: bool) -> int:
    """Refuse a job that can never start; with ``wait``, follow it and print the verdict or the merged scores."""
    from launch.errors import Cancelled
    from launch.jobs.slurm import cancel, job_state, refuse_if_hopeless, wait_for_job

    spec: EvalSpec = job.spec
    try:
        first = job_state(job_id)
        if first is not None:
            refuse_if_hopeless(first, "eval")
        if not wait:
            return 0
        state = wait_for_job(job_id, name="eval")
    except KeyboardInterrupt:
        if spec.mode == "validate":
            done = "cancelled" if cancel(job_id) else "could not cancel (run scancel yourself)"
            raise Cancelled(f"interrupted: {done} Slurm job {job_id} (eval validate); nothing else is left "
                            "queued.") from None
        raise Cancelled(f"interrupted: stopped following Slurm job {job_id} (eval), which keeps running: it will "
                        f"write the reports to {spec.out} and the scores into {spec.ckpt}/README.md; stop it with "
                        f"scancel {job_id}.") from None
    print(f"job {job_id} ended {state.state} with exit code {state.exit_code}")
    if spec.mode == "validate":
        report = Path(spec.report_path)
        if report.is_file():
            print(report.read_text(encoding="utf-8"), end="")
    elif state.state == "COMPLETED":
        print(scores_text(spec))
    return 0 if state.state == "COMPLETED" else 1


def scores_text(spec: EvalSpec) -> str:
    """One line per benchmark from the merged run's summary.json (what the card received)."""
    lines = [f"scores of {spec.ckpt} (merged from {spec.replicas} shard(s); reports in {spec.out}):"]
    for bench in spec.benchmarks:
        try:
            summary = json.loads((Path(spec.out) / bench / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            lines.append(f"  {bench}: no summary.json (see the job log)")
            continue
        state = "complete" if summary.get("complete") else "incomplete"
        lines.append(f"  {bench}: {summary.get('score')} ({state})")
    return "\n".join(lines)


def make_spec(args: argparse.Namespace, settings) -> EvalSpec:  # settings: launch.settings.Settings
    replicas = args.replicas or capacity(args)
    nodes = math.ceil(replicas / (args.gpus_per_node // args.tp))
    return EvalSpec(
        run_id=f"eval-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{os.getpid()}", ckpt=str(args.ckpt),
        benchmarks=benchmark_list(args.benchmarks),
        out=str((args.out or default_out(args.ckpt)).expanduser().resolve()),
        python=effective_python(settings, sys.executable), repo=str(REPO), nodes=nodes,
        gpus_per_node=args.gpus_per_node, tp=args.tp, replicas=replicas, backend=args.backend,
        mode="validate" if args.validate else "eval", extra=list(args.extra), variant=args.variant,
    )


def describe(spec: EvalSpec, job: Any) -> str:
    nodes = sorted(set(placement(spec, [f"node{i}" for i in range(spec.nodes)])))
    caching = ", prefix caching on" if spec.backend == "vllm" else ""
    lines = [f"== cluster eval of {spec.ckpt} ({spec.mode})",
             f"benchmarks    {', '.join(spec.benchmarks)}",
             f"replicas      {spec.replicas} x {spec.tp} GPU(s) ({spec.backend}{caching}) on "
             f"{len(nodes)} node(s) of {spec.gpus_per_node} GPUs",
             f"reports       {spec.out}", f"-- job script: sbatch --parsable {job.script_path}",
             job.script.rstrip("\n"), "-- end of job script"]
    return "\n".join(lines)


def _nearest_existing(path: Path) -> Path:
    path = path.expanduser().resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))
