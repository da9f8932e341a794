"""The one command line every benchmark shares: ``eval/<benchmark>.py`` is its docstring plus three calls.

:func:`make_parser` adds the data flags (defaults from the :class:`~eval.benchmark.Benchmark`) to the
common flags, :func:`main` runs it under :func:`infra.cli_errors.run_cli` (one sentence, no
traceback; exit 0 done, 1 the run failed, 2 a bad flag or input, 130 interrupted).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from eval.benchmark import Benchmark
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
from eval.evaluate import check_prompt, evaluate
from eval.judge_prompt import choose_prompt
from eval.report import EvalRun, write_reports
from eval.report_text import console_summary
from eval.run_identity import check_identity, identity_of, record_identity
from eval.shards import parsed_shard, shard_data
from infra.cli_errors import run_cli


def make_parser(benchmark: Benchmark, prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The benchmark's data flags and every common flag."""
    parser = EvalParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    where = f"default {benchmark.data_default}" if benchmark.data_default else "required"
    data.add_argument("--data", default=benchmark.data_default,
                      help=f"hub dataset name or local file/folder ({where})")
    data.add_argument("--split", default=benchmark.split, help=f"split to evaluate (default {benchmark.split})")
    data.add_argument("--revision", default=benchmark.revision, help="hub revision (default: the pinned commit)")
    add_common_args(parser)
    return parser


def run(benchmark: Benchmark, args: argparse.Namespace) -> int:
    """Check every input, evaluate, write the reports, print the summary."""
    prompt = choose_prompt(args.variant, args.prompt_template, args.ckpt)
    apply_budget(args, prompt)  # --max-new-tokens, else the variant's budget (eval/budgets.py)
    config = eval_config(args)
    backend = make_backend(args)
    data = shard_data(benchmark.load_data(args.data, args.split, args.revision, args.limit), parsed_shard(args))
    check_prompt(benchmark, data, prompt.template)
    out = Path(args.out) if args.out else default_out(benchmark.name, args, backend.model_id)
    cache_path = Path(args.cache) if args.cache else out / "generations.jsonl"
    check_outputs(out, args.cache, input_paths(args, [args.data]))
    check_out(out, backend.model_id)
    identity = identity_of(backend.model_id, prompt.template, [benchmark.name])
    check_identity(out, identity)
    try:
        with GenerationCache(cache_path) as cache:  # locked here: a concurrent run is refused before any request
            check_cache_models(cache, backend.model_id)
            record_identity(out, identity)
            result = evaluate(benchmark, data, prompt.template, backend, cache, config)
    finally:
        backend.close()
    run_info = EvalRun(benchmark, data, config, prompt, backend.describe(), backend.model_id, args.limit,
                       _shown(cache_path, out), shard=args.shard and str(parsed_shard(args)))
    summary = write_reports(out, run_info, result, plots=not args.no_plots)
    print(console_summary(summary, os.fspath(out)))
    return 0


def main(benchmark: Benchmark, parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse and run under the shared error convention; returns the exit status."""
    def _main(argv: Sequence[str] | None) -> int:
        return run(benchmark, parser.parse_args(argv))

    return run_cli(_main, argv, prog=parser.prog)


def _shown(path: Path, out: Path) -> str:
    """The cache path as recorded: relative to the report folder when inside it (no machine paths)."""
    try:
        return path.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return os.fspath(path)


