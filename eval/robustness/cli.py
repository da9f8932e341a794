"""``python eval/robustness.py``: parse the flags, judge the probes, write the reports, apply the thresholds."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from eval.backends.base import Backend
from eval.budgets import apply_budget
from eval.cache import GenerationCache
from eval.cli_common import (
    EvalParser,
    add_common_args,
    check_cache_models,
    check_out,
    check_outputs,
    default_out,
    eval_config,
    input_paths,
    make_backend,
)
from eval.errors import EvalError
from eval.evaluate import check_prompt
from eval.judge_prompt import choose_prompt
from eval.report import EvalRun, write_reports
from eval.robustness import report as robust_report
from eval.robustness.generators import PROBES, ProbePlan
from eval.robustness.run import Suite, measure, write_robustness
from eval.robustness.suite import NAME
from eval.run_identity import check_identity, identity_of, record_identity
from eval.session import NAMES as BENCHMARKS
from eval.session import benchmark_named
from infra.cli_errors import run_cli

PROG = "python eval/robustness.py"


def make_parser(doc: str | None = None) -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data and probes")
    data.add_argument("--benchmark", default="rewardbench", choices=BENCHMARKS,
                      help="the loader that reads --data (default rewardbench)")
    data.add_argument("--data", help="hub dataset name or local file/folder (default: the benchmark's)")
    data.add_argument("--split", help="split to read (default: the benchmark's)")
    data.add_argument("--revision", help="hub revision (default: the benchmark's pinned commit)")
    data.add_argument("--probes", default=",".join(PROBES[1:]),
                      help=f"comma-separated probes besides clean (default all: {','.join(PROBES[1:])})")
    bounds = parser.add_argument_group("thresholds (exit 1 when one is exceeded)")
    for flag, (label, _, kind) in robust_report.THRESHOLDS.items():
        bounds.add_argument(f"--{flag.replace('_', '-')}", type=float, metavar="RATE",
                            help=f"{'highest' if kind == 'max' else 'lowest'} allowed {label}")
    add_common_args(parser)
    return parser


def probe_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in PROBES]
    if unknown or not names:
        raise EvalError(f"--probes {text!r} names {unknown or 'nothing'}; choose from {','.join(PROBES[1:])}.")
    return tuple(dict.fromkeys(("clean", *names)))


def run(args: argparse.Namespace, backend: Backend | None = None) -> int:
    """Judge every probe through the shared runner and cache, then write the standard and robustness reports.

    ``backend`` replaces the one the flags describe (the preflight passes a scripted judge).
    """
    plan = ProbePlan(probe_names(args.probes), args.seed)
    if args.order != "both":  # every rate compares a probe with its clean pair judged in the same order
        raise EvalError(f"--order {args.order} cannot pair each probe with its clean comparison; use --order both.")
    if getattr(args, "shard", None):
        raise EvalError("--shard is not supported by the robustness suite (its rates need every probe of an item "
                        "in one run); use --limit for a smaller run.")
    suite = Suite(benchmark_named(args.benchmark), plan)
    prompt = choose_prompt(args.variant, args.prompt_template, args.ckpt)
    apply_budget(args, prompt)
    config = eval_config(args)
    backend = backend or make_backend(args)
    benchmark = suite.benchmark
    data = benchmark.load_data(args.data or suite.base.data_default, args.split, args.revision, args.limit)
    check_prompt(benchmark, data, prompt.template)
    out = Path(args.out) if args.out else default_out(NAME, args, backend.model_id)
    cache_path = Path(args.cache) if args.cache else out / "generations.jsonl"
    check_outputs(out, args.cache, input_paths(args, [args.data]))
    check_out(out, backend.model_id)
    identity = identity_of(backend.model_id, prompt.template, [NAME])
    check_identity(out, identity)
    try:
        with GenerationCache(cache_path) as cache:  # locked: a concurrent run is refused before any request
            check_cache_models(cache, backend.model_id)
            record_identity(out, identity)
            result, report = measure(suite, benchmark, data, prompt.template, backend, cache, config)
    finally:
        backend.close()
    shown = os.path.relpath(cache_path.resolve(), out.resolve()) if args.cache else "generations.jsonl"
    write_reports(out, EvalRun(benchmark, data, config, prompt, backend.describe(), backend.model_id, args.limit,
                               shown), result, plots=not args.no_plots)
    exceeded = write_robustness(out, report, {flag: getattr(args, flag) for flag in robust_report.THRESHOLDS},
                                plots=not args.no_plots)
    for label, value in robust_report.headlines(report).items():
        print(f"{label}: {'—' if value is None else f'{value:.3f}'}")
    print(f"reports in {os.fspath(out)}")
    if exceeded:
        print(f"{PROG}: thresholds exceeded: {'; '.join(exceeded)}.", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None, doc: str | None = None) -> int:
    return run_cli(lambda a: run(make_parser(doc).parse_args(a)), argv, prog=PROG)
