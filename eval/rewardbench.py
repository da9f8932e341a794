"""RewardBench v1 with a generative judge: reproducible, resumable, with both A/B orders by default.

    python eval/rewardbench.py --ckpt PATH                                  # local checkpoint (vLLM on GPU, else HF)
    python eval/rewardbench.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct
    python eval/rewardbench.py --ckpt PATH --order random --seed 1          # one seeded order per comparison

Data: the hub dataset allenai/reward-bench (split filtered, pinned revision; HF_HUB_OFFLINE=1 reads
only the local cache) or a local .jsonl/.json/.parquet file or folder with --data.
Score: mean of the 4 section scores, each the subset accuracies weighted by the official example
counts (math-prm 984); the micro mean is printed beside it, labelled. With --order both the headline
is the mean over the two orders; per-order accuracy, both-orders accuracy, position consistency and
A-bias are reported. A judgment without a verdict scores --parse-failure-score (0 by default).
Raw generations are cached in <out>/generations.jsonl: rerunning the same command after a crash
resumes without repeating a request, and re-scores everything from the raw texts.
Outputs in --out: summary.json, items.jsonl, report.md, sections.png, subsets.png.
Exit status: 0 done, 1 the backend failed (cached results are kept), 2 a bad flag or input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from eval.benchmarks.rewardbench import HUB_NAME, NAME, REVISION, SECTION_OF, SPLIT, aggregate_view, load_rewardbench
from eval.cache import GenerationCache
from eval.cli_common import add_common_args, default_out, eval_config, exit_code, make_backend
from eval.errors import BackendError, EvalError
from eval.evaluate import evaluate_pairwise
from eval.judge_prompt import choose_prompt
from eval.report import write_reports
from eval.report_text import console_summary

AVERAGE = "mean of the 4 section scores; each section = subset accuracies weighted by the official example counts"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python eval/rewardbench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", default=HUB_NAME, help=f"hub dataset name or local file/folder (default {HUB_NAME})")
    data.add_argument("--split", default=SPLIT, help=f"split to evaluate (default {SPLIT})")
    data.add_argument("--revision", default=REVISION, help="hub revision (default: the pinned commit)")
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the reports, print the summary."""
    config = eval_config(args)
    prompt = choose_prompt(args.variant, args.prompt_template, args.ckpt)
    backend = make_backend(args)
    data = load_rewardbench(args.data, args.split, args.revision, args.limit)
    out = Path(args.out) if args.out else default_out(NAME, args)
    cache_path = Path(args.cache) if args.cache else out / "generations.jsonl"
    try:
        with GenerationCache(cache_path) as cache:
            result = evaluate_pairwise(data.pairs, data.subset_of, aggregate_view, prompt.template, backend,
                                       cache, config)
    finally:
        backend.close()
    summary = write_reports(
        out, benchmark=NAME, tool="eval.rewardbench", result=result, config=config, prompt=prompt,
        backend_info=backend.describe(), model_id=backend.model_id, data_input=data.input,
        subset_of=data.subset_of, section_of=SECTION_OF, total_items=data.total_items, limit=args.limit,
        average=AVERAGE, cache_path=_shown(cache_path, out), plots=not args.no_plots,
    )
    print(console_summary(summary, os.fspath(out)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return run(args)
    except (EvalError, BackendError) as err:
        return exit_code(err)
    except KeyboardInterrupt:
        print("interrupted: finished generations are cached; rerun the same command to resume.", file=sys.stderr)
        return 130


def _shown(path: Path, out: Path) -> str:
    """The cache path as recorded: relative to the report folder when inside it (no machine paths)."""
    try:
        return path.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return os.fspath(path)


if __name__ == "__main__":
    sys.exit(main())
