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
import asyncio
import functools
import itertools
import os
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from data_prep.distill.checks import TraceCheck
from data_prep.distill.output import (
    IDENTITY_KEY,
    MANIFEST_NAME,
    OUTPUT_NAMES,
    SFT_MAX_LENGTH,
    OutputFiles,
    SftExample,
    checked_counter,
    filter_config,
    length_stats,
    pass_counts,
    prompt_text,
    run_manifest,
    split_examples,
    write_splits,
)
from data_prep.distill.passes import (
    Accounting,
    Attempt,
    DistillRow,
    Job,
    PassResult,
    ResponseCache,
    Teacher,
    correction_messages,
    run_pass,
)
from data_prep.distill.released_schema import chat_messages, checked_text
from data_prep.errors import DataPrepError
from infra.chat_types import Prices
from infra.cli_errors import EXIT_FAILED, OneLineParser, RunFailed
from infra.cli_flags import env_name, folder, json_object, location, number, path, seed, share_or_count, shown, whole
from infra.output_guard import check_output
from infra.row_files import RowFileError, iter_rows
from infra.run_metadata import InputRef, sha256_file
from reward_fns import LABELS

PROG = "python data_prep/distill.py"
TOOL = "data_prep.distill"
CACHE_NAME = "cache/teacher_responses.jsonl"
REQUIRED_COLUMNS: tuple[str, ...] = ("prompt", "reward_model", "extra_info", "data_source")
_REBUILD = "rebuild it with build_parquet.py --distill-fraction"


class DistillError(DataPrepError):
    """Distillation options or inputs that cannot work; the message names the input and the fix."""


class SpendCapReached(RunFailed):
    """The spend cap stopped a pass; every answer so far is cached and nothing was written."""


@dataclass(frozen=True)
class DistillOptions:
    """Everything a distillation run depends on (all of it lands in the manifest, never the key)."""

    input: Path
    out: Path
    teacher: Teacher
    fix_teacher: Teacher | None = None
    prices: Prices | None = None
    max_cost: float | None = None
    seed: int = 0
    val_size: float = 0.02
    tokenizer: str | None = None
    max_length: int = SFT_MAX_LENGTH
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    limit: int | None = None
    cache: Path | None = None
    progress: bool = True

    @property
    def cache_path(self) -> Path:
        return self.cache if self.cache is not None else self.out / CACHE_NAME


@dataclass(frozen=True)
class DistillResult:
    """What a run wrote and what it cost."""

    out: Path
    manifest: Path
    rows: dict[str, int]
    counts: dict[str, Any]
    request_failures: int
    run_cost_usd: float | None


def check_options(options: DistillOptions) -> None:
    """Refuse option combinations that cannot work (each value's own range is its flag type's)."""
    if options.max_cost is not None and options.prices is None:
        raise DistillError("--max-cost needs prices to count spend; pass --price-prompt and --price-completion "
                           "(USD per million tokens).")
    if options.max_cost is not None and not all(int(t.sampling.get("max_tokens") or 0) > 0 for t in
                                                (options.teacher, options.fix_teacher) if t is not None):
        raise DistillError("--max-cost reserves each request's worst case, which needs a completion limit; pass "
                           "--max-tokens.")


def distill(options: DistillOptions) -> DistillResult:
    """Run both passes (the second only with a fix teacher), write the SFT files and the manifest."""
    check_options(options)
    inputs = [("--input", options.input), ("--tokenizer", options.tokenizer)]
    check_output("--out", options.out, inputs, ours=lambda _: True)  # the files it replaces are checked by identity
    check_output("--cache", options.cache_path, inputs, ours=Path.is_file)  # the cache refuses a file it did not write
    source = read_distill_rows(options.input, options.limit)
    for purpose, teacher in (("pass1", options.teacher), ("pass2", options.fix_teacher)):
        if teacher is not None:
            teacher.check(purpose)
    identity = {"tool": TOOL, "input_sha256": source.input_ref.sha256, "teacher_model": options.teacher.model}
    with OutputFiles(options.out, OUTPUT_NAMES, identity) as files, ResponseCache(options.cache_path) as cache:
        first, second, accounting, measure = _passes(options, source, cache)
        examples = [_example(a, measure) for p in (first, second) for a in p.attempts.values() if a.check.kept]
        if not examples:
            rejected = "; ".join(f"{name} rejected { {r: n for r, n in c['rejected'].items() if n} }"
                                 for name, c in _pass_counts(first, second).items())
            raise RunFailed(f"no trace survived the checks ({rejected}); nothing was written. See "
                            "the rejection reasons and try another teacher, a larger max length, or --fix-teacher-url.")
        splits = split_examples(examples, options.val_size, options.seed, order=lambda e: e.row_id, prompt=prompt_text)
        outputs = write_splits({s: [e.row() for e in chunk] for s, chunk in splits.items()}, files.path)
        counts = _counts(first, second, examples, splits, accounting, options)
        meta = run_manifest(
            tool=TOOL, inputs=[source.input_ref], prompt_version=source.prompt_version, seed=options.seed,
            model=options.teacher.model, sampling=options.teacher.public_sampling(),
            config=_config(options, source.variant, splits) | {IDENTITY_KEY: identity}, counts=counts,
            outputs=outputs, volatile={"this_run": accounting.run_summary(), "cache": os.fspath(options.cache_path),
                                       "cache_entries": len(cache)},
        )
        meta.write(files.path(MANIFEST_NAME))
        files.commit()
    failures = sum(1 for p in (first, second) for a in p.attempts.values() if a.check.reason == "request_failed")
    return DistillResult(options.out, options.out / MANIFEST_NAME, {s: len(e) for s, e in splits.items()}, counts,
                         failures, accounting.run_summary()["cost_usd"])


def _passes(options: DistillOptions, source: DistillSource, cache: ResponseCache
            ) -> tuple[PassResult, PassResult, Accounting, Callable[[Attempt], int | None]]:
    """Pass 1 over every row, then pass 2 (with a fix teacher) over pass 1's rejections."""
    prompt_tokens: dict[str, int | None] = {}  # pass 1's prompt tokens per row: a pass-2 row trains that prompt
    measure, too_long = _lengths(options, prompt_tokens, source.rows[0])
    accounting = Accounting(options.prices, options.max_cost)
    first = _checked_pass("pass1", [Job(r, r.prompt) for r in source.rows], options.teacher, cache, accounting,
                          options, measure, functools.partial(too_long, "pass1"))
    prompt_tokens.update({i: a.response.prompt_tokens for i, a in first.attempts.items() if a.response})
    second = PassResult({}, [])
    retry = [a for a in first.attempts.values() if not a.check.kept and a.check.reason != "request_failed"]
    if options.fix_teacher is not None and retry:
        jobs = [Job(a.row, correction_messages(a.row.prompt, a.trace, a.check.reason or "", a.row.ground_truth))
                for a in sorted(retry, key=lambda a: a.row.row_id)]
        second = _checked_pass("pass2", jobs, options.fix_teacher, cache, accounting, options, measure,
                               functools.partial(too_long, "pass2"))
    return first, second, accounting, measure


def _checked_pass(purpose: str, jobs: Sequence[Job], teacher: Teacher, cache: ResponseCache, accounting: Accounting,
                  options: DistillOptions, measure: Callable[[Attempt], int | None],
                  too_long: Callable[[DistillRow], str | None]) -> PassResult:
    result = asyncio.run(run_pass(purpose, jobs, teacher, cache, accounting, check_leak=purpose == "pass2",
                                  progress=options.progress, too_long=too_long))
    if result.not_asked:
        n = accounting.summary()["all"]["missing_usage"]
        estimated = f" ({n} answers came without token usage and were costed from local counts, an upper bound)"
        raise SpendCapReached(
            f"the spend cap --max-cost {options.max_cost:g} USD stopped {purpose} at {accounting.total_cost:.4f} USD "
            f"spent{estimated if n else ''}: each request's worst case (its prompt and --max-tokens) is reserved "
            f"before it is sent, so {len(result.not_asked)} rows were not asked and nothing was written; every answer "
            f"so far is cached in {options.cache_path}, so rerunning with a higher --max-cost continues without "
            "paying twice."
        )
    for row_id, attempt in result.attempts.items():
        length = measure(attempt) if attempt.check.kept else None
        if length is not None and length > options.max_length:
            check = TraceCheck("too_long", f"{length} > {options.max_length}", attempt.check.label)
            result.attempts[row_id] = replace(attempt, check=check)
    return result


def _lengths(options: DistillOptions, prompt_tokens: Mapping[str, int | None], probe: DistillRow
             ) -> tuple[Callable[[Attempt], int | None], Callable[[str, DistillRow], str | None]]:
    """How long a kept row is in tokens, and why a row's prompt alone is already over --max-length (None if not).

    With --tokenizer both count through the chat template as the trainer does. Without, a row's length is
    the teacher's usage; a pass-2 request's prompt also holds the failed judgment and the correction, so its
    row counts pass 1's prompt tokens (the prompt it trains with) plus its own completion, and pass 2 refuses
    a row whose pass-1 prompt was over the limit before asking (pass 1 cannot know before it asks).
    """
    count = None
    if options.tokenizer is not None:
        from data_prep.length_filter import load_tokenizer

        count = checked_counter(load_tokenizer(options.tokenizer), options.chat_template_kwargs,
                                SftExample(probe.row_id, probe.prompt, "", probe.data_source, {}))

    def measure(attempt: Attempt) -> int | None:
        if count is not None:
            return count(_example(attempt, None))
        response = attempt.response
        if response is None or response.completion_tokens is None:
            return None
        prompt = prompt_tokens.get(attempt.row.row_id) if attempt.purpose == "pass2" else response.prompt_tokens
        return None if prompt is None else prompt + response.completion_tokens

    def over(purpose: str, row: DistillRow) -> str | None:
        tokens: int | None = None
        if count is not None:
            tokens = count(SftExample(row.row_id, row.prompt, "", row.data_source, {}))
        elif purpose == "pass2":
            tokens = prompt_tokens.get(row.row_id)
        fits = tokens is None or tokens <= options.max_length
        return None if fits else f"prompt {tokens} > {options.max_length} before any answer (not sent)"

    return measure, over


def _example(attempt: Attempt, measure: Callable[[Attempt], int | None] | None) -> SftExample:
    row: DistillRow = attempt.row
    extra = {**row.extra_info, "distill_pass": attempt.purpose,
             "teacher_model": attempt.response.model if attempt.response else ""}
    example = SftExample(row.row_id, row.prompt, attempt.trace or "", row.data_source, extra)
    return replace(example, length=measure(attempt)) if measure is not None else example


def _counts(first: PassResult, second: PassResult, examples: Sequence[SftExample],
            splits: Mapping[str, Sequence[SftExample]], accounting: Accounting, options: DistillOptions) -> dict:
    lengths = [e.length for e in examples if e.length is not None]
    too_long = sum(1 for p in (first, second) for a in p.attempts.values() if a.check.reason == "too_long")
    final = {a.row.row_id: a.check.reason for a in first.attempts.values() if not a.check.kept}
    final |= {a.row.row_id: a.check.reason for a in second.attempts.values()}  # pass 2's outcome replaces pass 1's
    tokens = accounting.summary()
    every = tokens["all"]
    return {
        "passes": _pass_counts(first, second),
        "merged": {"rows_in": len(first.attempts), "kept_pass1": sum(a.check.kept for a in first.attempts.values()),
                   "kept_pass2": sum(a.check.kept for a in second.attempts.values()), "kept": len(examples),
                   "dropped": dict(sorted(Counter(r for r in final.values() if r is not None).items())),
                   "too_long_dropped": too_long},
        "rows": {split: len(rows) for split, rows in splits.items()},
        "tokens": tokens,
        "cost_usd": every["cost_usd"],
        "cost_per_1k_kept_usd": None if options.prices is None else round(
            1000 * options.prices.cost(every["prompt_tokens"], every["completion_tokens"]) / len(examples), 4),
        "lengths": length_stats(lengths, options.max_length, "tokenizer" if options.tokenizer else "teacher_usage",
                                too_long),
    }


def _config(options: DistillOptions, variant: str, splits: Mapping[str, Any]) -> dict[str, Any]:
    config = filter_config(variant, options.max_length, options.tokenizer, options.chat_template_kwargs,
                           [s for s, rows in splits.items() if rows])
    teachers = {p: t.describe() for p, t in (("pass1", options.teacher), ("pass2", options.fix_teacher)) if t}
    prices = None if options.prices is None else asdict(options.prices)
    return config | {"teachers": teachers, "prices_usd_per_mtok": prices, "max_cost_usd": options.max_cost,
                     "val_size": options.val_size, "limit": options.limit}


def _pass_counts(first: PassResult, second: PassResult) -> dict[str, Any]:
    counts = {"pass1": pass_counts(a.check for a in first.attempts.values())}
    if second.attempts:
        counts["pass2"] = pass_counts((a.check for a in second.attempts.values()), "corrected")
    return counts


@dataclass(frozen=True)
class DistillSource:
    """The rows of one input file and what they share."""

    rows: list[DistillRow]
    variant: str
    prompt_version: str
    input_ref: InputRef


def read_distill_rows(path: Path, limit: int | None = None) -> DistillSource:
    """The rows of ``path`` sorted by id (the first ``limit`` of them, for a trial run).

    ``path`` holds verl RL rows as build_parquet.py --distill-fraction writes them (parquet; JSON lines or a
    JSON list too): the judge prompt, ``reward_model.ground_truth`` and ``extra_info`` with ``pair_id``,
    ``variant`` and ``prompt_version``, one variant and one prompt version in all (the SFT set trains one
    prompt). Every row is checked before a request is sent, so a bad row never costs a paid run.
    """
    name = repr(os.fspath(path))
    file = Path(path)
    if file.is_dir():
        raise DistillError(f"input {name} is a folder; pass the distill.parquet file itself "
                           "(e.g. data/rm_r1/instruct/distill.parquet).")
    if not file.is_file():
        raise DistillError(f"input {name} does not exist; pass the distill.parquet that "
                           "build_parquet.py --distill-fraction wrote (e.g. data/rm_r1/instruct/distill.parquet).")
    try:
        rows = sorted((_row(raw, place, name) for place, raw in iter_rows(file)), key=lambda r: r.row_id)
    except RowFileError as err:
        raise DistillError(f"input: {err}") from err
    if not rows:
        raise DistillError(f"input {name} has no rows; build it with --distill-fraction above 0.")
    if (twice := next((b.row_id for a, b in itertools.pairwise(rows) if a.row_id == b.row_id), None)) is not None:
        raise DistillError(f"input {name} holds pair id {twice!r} twice; rebuild it so ids are unique (outputs are "
                           "sorted and cached by id).")
    rows = rows[:limit] if limit else rows
    variants = sorted({r.variant for r in rows})
    versions = sorted({str(r.extra_info.get("prompt_version")) for r in rows})
    if len(variants) != 1 or len(versions) != 1:
        raise DistillError(f"input {name} mixes prompt variants {variants} / versions {versions}; distill "
                           "one variant's distill.parquet at a time.")
    _check_storable(rows, name)
    return DistillSource(rows, variants[0], versions[0], InputRef(name=os.fspath(path), sha256=sha256_file(path)))


def _row(raw: Mapping[str, Any], place: str, name: str) -> DistillRow:
    at = f"input {name} {place}"
    missing = [c for c in REQUIRED_COLUMNS if c not in raw]
    if missing:
        raise DistillError(f"{at} lacks columns {missing} (found {sorted(raw)}); pass a distill.parquet from "
                           "build_parquet.py (verl RL rows), not SFT or released data.")
    reward, extra, source = raw["reward_model"], raw["extra_info"], raw["data_source"]
    if not isinstance(reward, Mapping) or reward.get("ground_truth") not in LABELS:
        raise DistillError(f"{at}: reward_model is not an object with ground_truth A or B; {_REBUILD}.")
    if not isinstance(extra, Mapping):
        raise DistillError(f"{at}: extra_info is not an object; {_REBUILD}.")
    pair_id, variant = extra.get("pair_id"), extra.get("variant")
    if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)) or pair_id == "":
        raise DistillError(f"{at}: extra_info.pair_id is missing or not a string; {_REBUILD}.")
    if not isinstance(variant, str) or not variant:
        raise DistillError(f"{at}: extra_info.variant is missing or not a string; {_REBUILD}.")
    if source is not None and not isinstance(source, str):
        raise DistillError(f"{at}: data_source is not a string (it is {type(source).__name__}); {_REBUILD}.")
    messages = chat_messages(raw["prompt"], at, _REBUILD, DistillError, "prompt")
    for text in (str(pair_id), variant, source or ""):
        checked_text(text, at, DistillError)
    return DistillRow(str(pair_id), tuple(messages), reward["ground_truth"], variant, source or "", dict(extra))


def _check_storable(rows: list[DistillRow], name: str) -> None:
    """The extra_info that goes back into the SFT parquet must make one parquet column (checked before asking)."""
    import pyarrow as pa

    try:
        pa.Table.from_pylist([{"extra_info": {**r.extra_info, "distill_pass": "", "teacher_model": ""}} for r in rows])
    except (pa.ArrowException, OverflowError, ValueError, TypeError) as err:
        raise DistillError(f"input {name}: extra_info cannot be stored in parquet ({str(err)[:120]}); its rows "
                           f"must share one layout of plain values; {_REBUILD}.") from err


def make_parser() -> argparse.ArgumentParser:
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
    fix = None if args.fix_teacher_url is None else Teacher(
        args.fix_teacher_url, args.fix_teacher_model, args.fix_api_key_env or args.api_key_env, **common)
    prices = None if args.price_prompt is None else Prices(args.price_prompt, args.price_completion)
    return DistillOptions(
        input=args.input, out=args.out, teacher=teacher, fix_teacher=fix, prices=prices, max_cost=args.max_cost,
        seed=args.seed, val_size=args.val_size, tokenizer=args.tokenizer, max_length=args.max_length,
        chat_template_kwargs=args.chat_template_kwargs, limit=args.limit, cache=args.cache,
        progress=not args.no_progress and sys.stderr.isatty(),  # a piped stderr keeps errors to one line
    )


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
