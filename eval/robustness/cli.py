"""``python eval/robustness.py``: parse the flags, judge the probes, write the reports, apply the thresholds."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from eval.backends.base import Backend
from eval.cli_common import EvalParser, add_common_args
from eval.errors import EvalError
from eval.robustness import report as robust_report
from eval.robustness.generators import PROBES, ProbePlan
from eval.robustness.run import Suite, measure, write_robustness
from eval.robustness.suite import NAME
from eval.session import NAMES as BENCHMARKS
from eval.session import EvalSession, benchmark_named
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
    session = EvalSession(args, tool="eval.robustness", backend=backend)
    benchmark = suite.benchmark
    data = benchmark.load_data(args.data or suite.base.data_default, args.split, args.revision, args.limit)
    session.check_prompt({NAME: (benchmark, data)})
    out = session.out(NAME)
    with session.opened(out, {out: [NAME]}, [args.data]):  # outputs and identity checked, cache locked
        result, report = measure(suite, benchmark, data, session.prompt.template, session.backend,
                                 session.locked_cache, session.config)
        session.write(out, benchmark, data, result, out)
    exceeded = write_robustness(out, report, {flag: getattr(args, flag) for flag in robust_report.THRESHOLDS},
                                plots=not args.no_plots)
    for label, value in robust_report.headlines(report).items():
        print(f"{label}: {'—' if value is None else f'{value:.3f}'}")
    print(f"reports in {os.fspath(out)}")
    if exceeded:
        print(f"{PROG}: thresholds exceeded: {'; '.join(exceeded)}.", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None, doc: str | None = None, backend: Backend | None = None) -> int:
    """Parse and run under the shared error convention; ``backend`` replaces the flags' one (tests, preflight)."""
    return run_cli(lambda a: run(make_parser(doc).parse_args(a), backend), argv, prog=PROG)
