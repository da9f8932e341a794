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
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.benchmark import Benchmark, BenchmarkData
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
    is_report_folder,
    make_backend,
)
from eval.combined_report import benchmark_row, combined_summary, render
from eval.compare import benchmark_named
from eval.errors import EvalError
from eval.evaluate import EvalConfig, check_prompt, evaluate
from eval.judge_prompt import PromptChoice, choose_prompt
from eval.report import EvalRun, write_reports
from eval.report_text import shard_text
from eval.robustness import run as robustness_run
from eval.run_identity import check_identity, identity_of, record_identity
from eval.shards import parsed_shard, shard_data
from infra.atomic_files import write_text_atomic
from infra.cli_errors import run_cli
from infra.output_guard import check_output
from infra.run_metadata import git_commit

PROG = "python eval/run_all.py"
BENCHMARKS: tuple[str, ...] = ("rewardbench", "rmbench", "rmb", "rewardbench2", "judgebench")


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
        benchmark = benchmark_named(name)
        source = data.get(name, benchmark.data_default)
        if source is None and not explicit:
            skipped[name] = f"no --data {name}=PATH (it has no hub copy; see README)"
            continue
        if source is None:
            raise EvalError(f"{name} needs --data {name}=PATH (it has no hub copy); pass it or drop {name} from "
                            "--benchmarks.")
        revision = revisions.get(name, benchmark.revision)
        items = benchmark.load_data(source, splits.get(name), revision, args.limit)
        loaded[name] = (benchmark, shard_data(items, parsed_shard(args)))
    return loaded, skipped


def run(args: argparse.Namespace) -> int:
    """Evaluate every benchmark through one backend and one cache, then write the combined report."""
    prompt = choose_prompt(args.variant, args.prompt_template, args.ckpt)
    budget_source = apply_budget(args, prompt)
    config = eval_config(args)
    loaded, skipped = load_all(args)
    suite = robustness_run.planned(args.robustness, loaded, args.order, args.seed)
    for benchmark, data in loaded.values():
        check_prompt(benchmark, data, prompt.template)  # every benchmark before the first request
    backend = make_backend(args)
    out = Path(args.out) if args.out else default_out("all", args, backend.model_id)
    cache_path = Path(args.cache) if args.cache else out / "generations.jsonl"
    inputs = input_paths(args, [value.partition("=")[2] for value in args.data])
    identities = {out: identity_of(backend.model_id, prompt.template, list(loaded))}
    identities |= {out / name: identity_of(backend.model_id, prompt.template, [name])
                   for name in [*loaded, *(["robustness"] if suite else [])]}
    check_outputs(out, args.cache, inputs)
    for folder, identity in identities.items():
        check_output("--out", folder, inputs, ours=is_report_folder)  # each benchmark's folder inside it too
        check_out(folder, backend.model_id)  # no other judge's report is overwritten
        check_identity(folder, identity)  # nor another prompt's or benchmark set's
    summaries, generated, reused = [], 0, 0
    try:
        with GenerationCache(cache_path) as cache:  # locked here: a concurrent run is refused before any request
            check_cache_models(cache, backend.model_id)
            for folder, identity in identities.items():
                record_identity(folder, identity)
            for name, (benchmark, data) in loaded.items():
                result = evaluate(benchmark, data, prompt.template, backend, cache, config)
                generated, reused = generated + result.stats.generated, reused + result.stats.cache_hits
                run_info = EvalRun(benchmark, data, config, prompt, backend.describe(), backend.model_id, args.limit,
                                   _relative(cache_path, out / name), tool="eval.run_all",
                                   shard=args.shard and str(parsed_shard(args)))
                summaries.append(write_reports(out / name, run_info, result, plots=not args.no_plots))
                shard = shard_text(summaries[-1])
                print(f"{name}: score {_pct(summaries[-1]['score'])}" + (f" ({shard} only)" if shard else ""),
                      file=sys.stderr)
            if suite is not None:
                robustness_run.run_in_all(out / "robustness", suite, prompt, backend, cache, config, args.limit,
                                          _relative(cache_path, out / "robustness"), not args.no_plots)
    finally:
        backend.close()
    shared = _shared(config, prompt, backend.describe(), backend.model_id, budget_source, summaries, args,
                     _relative(cache_path, out), generated, reused)
    summary = combined_summary([benchmark_row(s) for s in summaries], shared, skipped)
    summary["metadata"] = {"tool": "eval.run_all", "model": backend.model_id,
                           "git_commit": git_commit(Path(__file__).resolve().parent)}
    write_text_atomic(out / "report.md", render(summary))
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    print(render(summary).split("\n\nScores are")[0])
    print(f"reports in {os.fspath(out)}")
    return 0


def _shared(config: EvalConfig, prompt: PromptChoice, backend_info: dict[str, Any], model_id: str, budget_source: str,
            summaries: list[dict[str, Any]], args: argparse.Namespace, cache: str, generated: int,
            reused: int) -> dict[str, Any]:
    template = prompt.template
    first = summaries[0]["conventions"] if summaries else {}
    rule = first.get("parse_failure_rule", f"--parse-failure-score {config.parse_failure_score}")
    return {"model": model_id, "backend": backend_info.get("backend"), "prompt": template.name,
            "prompt_source": prompt.source, "prompt_version": template.version, "order": config.order,
            "seed": config.seed, "headline_view": config.headline_view, "parse_mode": config.parse_mode,
            "parse_failure_rule": rule,
            "sampling": config.sampling.to_dict(), "budget_source": budget_source, "cache": cache,
            "generated": generated, "reused": reused, "limit": args.limit,
            "shard": args.shard and str(parsed_shard(args))}


def _relative(path: Path, start: Path) -> str:
    """A path as recorded in reports: relative to ``start`` (no machine paths)."""
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
