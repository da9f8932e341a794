"""The one command line every benchmark shares: ``eval/<benchmark>.py`` is its docstring plus two partials.

:func:`make_parser` adds the data flags (defaults from the :class:`~eval.benchmark.Benchmark`) to the
common flags, :func:`main` runs it under :func:`infra.cli_errors.run_cli` (one sentence, no
traceback; exit 0 done, 1 the run failed, 2 a bad flag or input, 130 interrupted).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from eval import session
from eval.benchmark import Benchmark
from eval.cli_common import EvalParser, add_common_args
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
    """run_all with one benchmark: its reports straight in ``--out`` and the console summary."""
    judge_run = session.EvalSession(args)  # flags, prompt and backend settings checked before the data is read
    data = session.load(benchmark, args.data, args.split, args.revision, args)
    return session.run(judge_run, {benchmark.name: (benchmark, data)}, data=[args.data])


def main(benchmark: Benchmark, prog: str, doc: str | None, argv: Sequence[str] | None = None) -> int:
    """Parse and run under the shared error convention; returns the exit status."""
    parser = make_parser(benchmark, prog, doc)
    return run_cli(lambda a: run(benchmark, parser.parse_args(a)), argv, prog=prog)
