"""Distil teacher judgments into SFT data: distill.parquet -> {out}/train.parquet, val.parquet, manifest.json.

    python data_prep/distill.py --input data/rm_r1/instruct/distill.parquet \\
        --teacher-url https://api.example.com/v1 --teacher-model MODEL --api-key-env TEACHER_API_KEY \\
        --price-prompt 2.50 --price-completion 10.00 --max-cost 50 --out data/rm_r1/sft
    # pass 2 (optional; may be the same endpoint): correct the rejected traces
    ... --fix-teacher-url URL --fix-teacher-model MODEL [--fix-api-key-env VAR]

Pass 1 keeps a trace only if its strict verdict is the ground truth, its Chain-of-Rubrics structure is
complete for its task type and the row fits --max-length tokens. Pass 2 shows the fix teacher its
wrong judgment and the correct verdict, re-checks the new trace the same way and rejects traces
that reveal they were told the answer. Every raw answer is cached in {out}/cache/ before use:
rerun the same command after an interruption or crash and nothing is paid for twice.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from data_prep.distill.output import SFT_MAX_LENGTH
from data_prep.distill.passes import Teacher
from data_prep.distill.run import DistillError, DistillOptions, DistillResult, distill
from infra.chat_types import Prices
from infra.cli_errors import EXIT_FAILED, OneLineParser
from infra.cli_flags import env_name, folder, json_object, location, number, path, seed, share_or_count, shown, whole

PROG = "python data_prep/distill.py"


def make_parser() -> argparse.ArgumentParser:
    """The command-line interface (every flag has help)."""
    parser = OneLineParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                           error_class=DistillError)
    add = parser.add_argument
    add("--input", type=path, required=True, help="distill.parquet from build_parquet.py --distill-fraction")
    add("--out", type=folder, required=True, help="output folder for train.parquet, val.parquet, manifest.json")
    add("--teacher-url", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    add("--teacher-model", required=True, help="the model name the teacher endpoint serves")
    add("--api-key-env", type=env_name, default=None, metavar="VAR",
        help="NAME of the environment variable holding the teacher's API key (never the key itself)")
    add("--fix-teacher-url", default=None, help="pass 2: base URL of the teacher that corrects rejected traces")
    add("--fix-teacher-model", default=None, help="pass 2: its model name (pass both or neither)")
    add("--fix-api-key-env", type=env_name, default=None, metavar="VAR",
        help="pass 2: key variable (default: --api-key-env)")
    add("--price-prompt", type=number(least=0), default=None, metavar="USD",
        help="USD per million prompt tokens (your provider's price) for cost accounting")
    add("--price-completion", type=number(least=0), default=None, metavar="USD",
        help="USD per million completion tokens")
    add("--max-cost", type=number(above=0), default=None, metavar="USD",
        help="stop asking once responses used cost this much in all (cached ones included); needs prices")
    add("--max-concurrency", "--concurrency", type=whole(least=1), default=8,
        help="requests in flight at once, 1 or more (default: 8)")
    add("--rpm", type=number(above=0), default=None, help="requests per minute, spaced evenly (default: no limit)")
    add("--timeout", type=number(above=0), default=600.0, help="seconds per attempt (default: 600)")
    add("--max-retries", type=whole(least=0), default=6, help="retries on 429/5xx/timeouts/resets (default: 6)")
    add("--temperature", type=number(least=0), default=None, help="sampling temperature (default: the server's)")
    add("--max-tokens", type=whole(least=1), default=8192, help="completion token limit per request (default: 8192)")
    add("--sampling", type=sampling_object, default={}, metavar="JSON",
        help='further request fields, e.g. \'{"top_p": 0.95}\' (part of the cache key)')
    add("--tokenizer", type=location, default=None, metavar="PATH",
        help="the student's tokenizer: row lengths are counted through its chat template as the trainer does "
        "(default: the teacher's reported tokens)")
    add("--max-length", type=whole(least=1), default=SFT_MAX_LENGTH,
        help=f"drop rows longer than this many tokens: the SFT recipe's data.max_length (default: {SFT_MAX_LENGTH})")
    add("--chat-template-kwargs", type=json_object, default={}, metavar="JSON",
        help="extra apply_chat_template arguments for the length count")
    add("--val-size", type=share_or_count, default=0.02,
        help="validation share (below 1) or whole count (default: 0.02)")
    add("--seed", type=seed, default=0, help="seed of the train/val split (default: 0)")
    add("--limit", type=whole(least=1), default=None, help="distil only the first N rows by id (a trial run)")
    add("--cache", type=path, default=None, help="response cache file (default: {out}/cache/teacher_responses.jsonl)")
    add("--no-progress", action="store_true",
        help="hide progress bars (they show only when stderr is a terminal, so logs and pipes get none)")
    return parser


def sampling_object(text: str) -> dict[str, Any]:
    """``--sampling``: a JSON object that leaves the request's own fields to the client."""
    value = json_object(text)
    owned = sorted(set(value) & {"model", "messages", "stream", "n"})
    if owned:
        raise argparse.ArgumentTypeError(f"{shown(text)} sets {owned}, which the client sets itself (one "
                                         "non-streamed answer per request); leave them out")
    return value


def options_from_args(args: argparse.Namespace) -> DistillOptions:
    """Turn parsed arguments into :class:`DistillOptions`."""
    if (args.fix_teacher_url is None) != (args.fix_teacher_model is None):
        raise DistillError("--fix-teacher-url and --fix-teacher-model work together; pass both or neither.")
    if (args.price_prompt is None) != (args.price_completion is None):
        raise DistillError("--price-prompt and --price-completion work together; pass both (USD per million tokens).")
    sampling = {**args.sampling, "max_tokens": args.max_tokens}
    if args.temperature is not None:
        sampling["temperature"] = args.temperature
    common = {"max_concurrency": args.max_concurrency, "requests_per_minute": args.rpm, "timeout_s": args.timeout,
              "max_retries": args.max_retries, "sampling": sampling}
    teacher = Teacher(args.teacher_url, args.teacher_model, args.api_key_env, **common)
    fix = None
    if args.fix_teacher_url is not None:
        fix = Teacher(args.fix_teacher_url, args.fix_teacher_model, args.fix_api_key_env or args.api_key_env, **common)
    prices = None if args.price_prompt is None else Prices(args.price_prompt, args.price_completion)
    return DistillOptions(
        input=args.input, out=args.out, teacher=teacher, fix_teacher=fix, prices=prices, max_cost=args.max_cost,
        seed=args.seed, val_size=args.val_size, tokenizer=args.tokenizer, max_length=args.max_length,
        chat_template_kwargs=args.chat_template_kwargs, limit=args.limit, cache=args.cache,
        progress=not args.no_progress and _terminal(sys.stderr),
    )


def _terminal(stream: Any) -> bool:
    """True for an interactive terminal: a captured or piped stderr keeps errors to their one line."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def summary_text(result: DistillResult) -> str:
    """Per pass asked / kept / rejected, the files written and the cost."""
    counts = result.counts
    lines = []
    for name, numbers in counts["passes"].items():
        kept = numbers.get("kept", numbers.get("corrected"))
        rejected = ", ".join(f"{r} {n}" for r, n in numbers["rejected"].items() if n) or "none"
        lines.append(f"{name}: asked {numbers['asked']}, kept {kept}, rejected: {rejected}")
    rows = ", ".join(f"{split} {n}" for split, n in result.rows.items())
    cost = counts["cost_usd"]
    spend = "" if cost is None else f"; cost {cost:.4f} USD in all ({result.run_cost_usd:.4f} this run)"
    lines.append(f"{result.out}: {rows} rows, {result.manifest.name}{spend}")
    if counts["tokens"]["all"]["missing_usage"]:
        lines.append(f"note: {counts['tokens']['all']['missing_usage']} answers came without token usage; their tokens "
                     "and cost are local counts (an upper bound: a token is one byte or more).")
    lengths = counts["lengths"]
    if lengths.get("count"):
        lines.append(f"lengths ({lengths['source']}): median {lengths['median']}, p95 {lengths['p95']}, "
                     f"max {lengths['max']} of {lengths['max_length']}; too long dropped {lengths['too_long_dropped']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failed requests or a stopped run, 2 bad input)."""
    args = make_parser().parse_args(argv)
    result = distill(options_from_args(args))
    print(summary_text(result))
    if result.request_failures:
        print(f"{PROG}: {result.request_failures} requests failed after all retries and are missing from the "
              "output; rerun the same command to ask only for those.", file=sys.stderr)
        return EXIT_FAILED
    return 0

