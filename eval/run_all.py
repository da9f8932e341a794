"""Every benchmark for one judge, one shared generation cache, one combined report.

    python eval/run_all.py --ckpt PATH                                      # all hub benchmarks (+ RMB with --data)
    python eval/run_all.py --ckpt PATH --data rmb=PATH/TO/RMB_dataset       # RMB from your local clone
    python eval/run_all.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant reasoning \\
        --benchmarks rewardbench,rmbench,rmb --data rmb=PATH/TO/RMB_dataset

Benchmarks (--benchmarks, comma-separated; default all): rewardbench, rmbench, rmb, rewardbench2,
judgebench. Each reads its default hub dataset unless --data NAME=PATH (repeatable) points it at a
local file or folder; --split NAME=SPLIT and --revision NAME=REV likewise. RMB has no license and no
hub copy: without --data rmb=... it is skipped (and the report says so) unless you asked for it.
Every input is loaded and checked before the first generation. All benchmarks share one cache
(<out>/generations.jsonl, or --cache): identical judge prompts are generated once, and rerunning the
same command after a crash resumes without repeating a request. The judge flags (backend, prompt,
sampling, orders, parse mode) are those of every benchmark CLI; the generation budget defaults per
prompt variant (instruct 8192, reasoning 50000, --prompt-template 50000).
Outputs in --out (default outputs/eval/all/<model>): report.md and summary.json (one table:
benchmark, score, both-order accuracy, position consistency, parse failures, judgments that hit the
budget; every convention stated), and each benchmark's full report in <out>/<benchmark>/.
Exit status: 0 done, 1 the run failed (cached results are kept), 2 a bad flag or input, 130 interrupted.
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

import argparse
from collections.abc import Sequence

from eval import session
from eval.benchmark import Benchmark, BenchmarkData
from eval.cli_common import EvalParser, add_common_args
from eval.errors import EvalError
from eval.robustness import run as robustness_run
from eval.session import NAMES as BENCHMARKS
from infra.cli_errors import run_cli

PROG = "python eval/run_all.py"


def make_parser() -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("benchmarks and data")
    data.add_argument("--benchmarks",
                      help=f"comma-separated subset of {','.join(BENCHMARKS)} (default all)")
    for flag, what in (("--data", "PATH"), ("--split", "SPLIT"), ("--revision", "REV")):
        data.add_argument(flag, action="append", default=[], metavar=f"NAME={what}",
                          help=f"per-benchmark {what.lower()} (repeatable), e.g. {flag} rmb=... ")
    data.add_argument("--robustness", metavar="NAME", help="also run the robustness suite (eval/robustness.py) on "
                                                            "NAME's data; its reports go to <out>/robustness/")
    add_common_args(parser)
    return parser


def chosen_benchmarks(text: str) -> list[str]:
    """The benchmark names of ``--benchmarks``, in the order given; an unknown or repeated name is refused."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown or not names:
        raise EvalError(f"--benchmarks {text!r} names {unknown or 'nothing'}; choose from {','.join(BENCHMARKS)}.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise EvalError(f"--benchmarks {text!r} names {', '.join(repeated)} more than once; name each benchmark once.")
    return names


def per_benchmark(values: Sequence[str], flag: str, names: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` flags as a dict; every NAME must be a chosen benchmark."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not rest or name not in BENCHMARKS:
            raise EvalError(f"{flag} {value!r} must be NAME=VALUE with NAME one of {','.join(BENCHMARKS)}.")
        if name not in names:
            raise EvalError(f"{flag} {value!r} is for {name}, which --benchmarks does not run; add it or drop "
                            "the flag.")
        if name in out:
            raise EvalError(f"{flag} is given twice for {name} ({out[name]!r} and {rest!r}); keep one.")
        out[name] = rest
    return out


def load_all(args: argparse.Namespace) -> tuple[dict[str, tuple[Benchmark, BenchmarkData]], dict[str, str]]:
    """Load and check every chosen benchmark's data (before any generation); RMB without data is skipped."""
    explicit = args.benchmarks is not None
    names = chosen_benchmarks(args.benchmarks) if explicit else list(BENCHMARKS)
    data, splits, revisions = (per_benchmark(v, f, names) for v, f in ((args.data, "--data"),
                                                                       (args.split, "--split"),
                                                                       (args.revision, "--revision")))
    loaded: dict[str, tuple[Benchmark, BenchmarkData]] = {}
    skipped: dict[str, str] = {}
    for name in names:
        benchmark = session.benchmark_named(name)
        source = data.get(name, benchmark.data_default)
        if source is None and not explicit:
            skipped[name] = f"no --data {name}=PATH (it has no hub copy; see README)"
            continue
        if source is None:
            raise EvalError(f"{name} needs --data {name}=PATH (it has no hub copy); pass it or drop {name} from "
                            "--benchmarks.")
        loaded[name] = (benchmark, session.load(benchmark, source, splits.get(name),
                                                revisions.get(name, benchmark.revision), args))
    return loaded, skipped


def run(args: argparse.Namespace) -> int:
    """Evaluate every benchmark through one backend and one cache, then write the combined report."""
    judge_run = session.EvalSession(args, tool="eval.run_all")
    loaded, skipped = load_all(args)
    suite = robustness_run.planned(args.robustness, loaded, args.order, args.seed)
    extra: dict[str, session.Extra] = {}
    if suite is not None:
        extra["robustness"] = lambda s, folder, cache: robustness_run.run_in_all(
            folder, suite, s.prompt, s.backend, s.locked_cache, s.config, args.limit, cache, not args.no_plots)
    return session.run(judge_run, loaded, skipped, data=[value.partition("=")[2] for value in args.data],
                       extra=extra)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
