"""Build verl-ready judge data from preference pairs.

    python data_prep/build_parquet.py            # show what would be built and how to point it at data
    python data_prep/build_parquet.py --inputs preflight/samples/pairs.jsonl --val-size 0.2 \\
        --distill-fraction 0.2 --out data/rm_r1
    python data_prep/build_parquet.py --mix rm_r1 --source skywork=DIR code=DIR math=DIR \\
        --tokenizer MODEL_DIR --decontaminate rewardbench=FILE rm-bench=FILE --out data/rm_r1

Writes, for each variant, {out}/{variant}/train.parquet, val.parquet, distill.parquet (only with
--distill-fraction > 0) in verl's RL row schema, and manifest.json describing how they were made
(every input row accounted for: read = dropped by reason + kept, per source).
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
import os
from collections.abc import Sequence
from pathlib import Path

from data_prep.adapters import parse_input_spec
from data_prep.benchmark_prompts import BENCHMARKS, parse_benchmark_spec
from data_prep.decontamination import DEFAULT_NGRAM, DEFAULT_THRESHOLD
from data_prep.errors import BuildError
from data_prep.manifest import MANIFEST_NAME
from data_prep.mix import Mix, builtin_mixes, load_mix, with_overrides
from data_prep.options import DEFAULT_MAX_PROMPT_LENGTH, DEFAULT_OUT, DEFAULT_VAL_SIZE, BuildOptions
from data_prep.pipeline import BuildResult, build
from data_prep.prompts import PROMPT_VERSION, VARIANTS, builtin_template
from infra.cli_errors import OneLineParser, run_cli
from infra.cli_flags import folder, json_object, location, path, seed, whole

__all__ = ["build", "cli", "main"]
SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples" / "pairs.jsonl"  # synthetic, shipped
PROG = "build_parquet"


def make_parser() -> argparse.ArgumentParser:
    """The command-line interface (every flag has help)."""
    parser = OneLineParser(prog="python data_prep/build_parquet.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter, error_class=BuildError)
    add = parser.add_argument
    add("--inputs", nargs="+", metavar="[SOURCE=]FILE",
        help="preference-pair files (.jsonl/.json/.parquet with prompt or messages, chosen, rejected); "
        "SOURCE= names the source of rows without a 'source' column (default: the file name)")
    add("--mix", default=None, metavar="NAME|YAML",
        help=f"a training mix: built-in {builtin_mixes()} (rm_r1 = the paper's ~73K pairs) or a mix yaml file; "
        "its hub sources need --revision or --source")
    add("--source", nargs="+", action="extend", default=[], metavar="NAME=PATH",
        help="read a mix source from local files instead of the hub: a .parquet/.jsonl/.json file or a folder in "
        "the hub's layout (e.g. a snapshot with data/train-*.parquet); or another hub name")
    add("--revision", nargs="+", action="extend", default=[], metavar="NAME=COMMIT",
        help="the hub revision (commit hash) to read for a mix source; recorded in the manifest")
    add("--decontaminate", nargs="+", action="extend", default=[], metavar="BENCH=PATH",
        help=f"drop pairs whose prompt overlaps a benchmark's prompts; BENCH is one of {sorted(BENCHMARKS)}, "
        "PATH a file or folder of its data, or OWNER/REPO@COMMIT (BENCH@COMMIT: its usual hub name)")
    add("--decontam-ngram", type=whole(least=1), default=DEFAULT_NGRAM, metavar="N",
        help=f"word n-gram size for the overlap test (default: {DEFAULT_NGRAM})")
    add("--decontam-threshold", type=float, default=DEFAULT_THRESHOLD, metavar="FRACTION",
        help="drop a pair when shared n-grams make up at least this fraction of the shorter prompt's n-grams "
        f"(default: {DEFAULT_THRESHOLD}); exact matches are always dropped")
    add("--variant", nargs="+", default=list(VARIANTS), metavar="NAME",
        help=f"prompt variants to build: {' and/or '.join(VARIANTS)} (default: both)")
    add("--out", type=folder, default=DEFAULT_OUT,
        help=f"output folder; one subfolder per variant (default: {DEFAULT_OUT})")
    add("--val-size", type=float, default=DEFAULT_VAL_SIZE,
        help="validation split: a fraction of each source if below 1, else a total count "
        f"(default: {DEFAULT_VAL_SIZE})")
    add("--distill-fraction", type=float, default=0.0,
        help="share of the non-val pairs set aside as distill.parquet for distillation traces (paper: 0.12; default 0)")
    add("--adversarial", type=float, default=0.0, metavar="FRACTION",
        help="add about FRACTION defence pairs per pair whose losing side is a master key, a cut-off first "
        "sentence or an injection, from the robustness library's held-apart part (counted in the manifest)")
    add("--seed", type=seed, default=0, help="seed for the splits and the A/B placement (default: 0)")
    add("--prompt-template", type=path, default=None, metavar="FILE",
        help="use this template file instead of the built-in one (needs exactly one --variant; its hash becomes "
        "the prompt version)")
    add("--tokenizer", type=location, default=None, metavar="PATH",
        help="the judge model's tokenizer (model folder, or a hub name already cached) for the prompt-length "
        "filter; prompts are counted as verl does (chat template, generation prompt, --chat-template-kwargs)")
    add("--max-prompt-length", type=whole(least=1), default=None, metavar="TOKENS",
        help="drop pairs whose prompt (either A/B order) exceeds this many tokens; match data.max_prompt_length "
        f"(default with --tokenizer: {DEFAULT_MAX_PROMPT_LENGTH}; needs --tokenizer)")
    add("--chat-template-kwargs", type=json_object, default={}, metavar="JSON",
        help='extra apply_chat_template arguments, e.g. \'{"enable_thinking": true}\'; used by the length filter '
        "and recorded in the manifest for the recipes")
    add("--no-progress", action="store_true", help="hide progress bars (they show only on a terminal)")
    add("--policy", action="store_true", help="build policy-RL rows instead (prompt + the chosen answer as the "
        "judge reward's reference; data_prep/policy_rows.py): {out}/policy/{train,val}.parquet")
    return parser


def _assignments(values: Sequence[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name or not value:
            raise BuildError(f"{flag} {text!r} is not NAME=VALUE; write it like {flag} skywork=data/skywork.")
        out[name] = value
    return out


def _mix(args: argparse.Namespace) -> Mix | None:
    if args.mix is None:
        if args.source or args.revision:
            raise BuildError("--source and --revision change the sources of a mix; pass --mix rm_r1 with them.")
        return None
    sources, revisions = _assignments(args.source, "--source"), _assignments(args.revision, "--revision")
    return with_overrides(load_mix(args.mix), sources, revisions)


def options_from_args(args: argparse.Namespace) -> BuildOptions:
    """Turn parsed arguments into :class:`BuildOptions`."""
    max_len = args.max_prompt_length
    if max_len is None and args.tokenizer is not None:
        max_len = DEFAULT_MAX_PROMPT_LENGTH
    return BuildOptions(
        inputs=tuple(parse_input_spec(text) for text in args.inputs or ()),
        mix=_mix(args),
        benchmarks=tuple(parse_benchmark_spec(text) for text in args.decontaminate),
        decontam_ngram=args.decontam_ngram,
        decontam_threshold=args.decontam_threshold,
        out=args.out,
        variants=tuple(dict.fromkeys(args.variant)),
        val_size=args.val_size,
        distill_fraction=args.distill_fraction,
        adversarial_fraction=args.adversarial,
        seed=args.seed,
        prompt_template=args.prompt_template,
        tokenizer=args.tokenizer,
        max_prompt_length=max_len,
        chat_template_kwargs=args.chat_template_kwargs,
        progress=not args.no_progress and sys.stderr.isatty(),  # a piped stderr keeps errors to one line
    )


def plan_text() -> str:
    """What a run without arguments prints: the default plan and how to point the builder at data."""
    samples = os.path.relpath(SAMPLES) if not os.path.relpath(SAMPLES).startswith("..") else os.fspath(SAMPLES)
    default = BuildOptions()
    return "\n".join([
        f"Nothing built: no --inputs given. With the bundled sample pairs it would write (prompt {PROMPT_VERSION}):",
        f"inputs: {samples}",
        f"seed {default.seed}, val size {default.val_size}, distill fraction {default.distill_fraction}",
        *(f"{os.fspath(default.out / v)}/: train.parquet, val.parquet, {MANIFEST_NAME} (prompt "
          f"{builtin_template(v).version}, {builtin_template(v).origin})" for v in default.variants),
        "",
        "Build the samples:   python data_prep/build_parquet.py --inputs "
        f"{samples} --val-size 0.2 --distill-fraction 0.2",
        "Your own pairs:      --inputs FILE [SOURCE=FILE ...]  (.jsonl/.json/.parquet with 'prompt' or 'messages', "
        "'chosen', 'rejected')",
        "The paper's mix:     --mix rm_r1 --source skywork=DIR code=DIR math=DIR  (or --revision NAME=COMMIT)",
        "Length filter:       --tokenizer MODEL_DIR [--max-prompt-length 4096]",
        "Decontamination:     --decontaminate rewardbench=FILE rm-bench=FILE rmb=DIR rewardbench2=FILE judgebench=FILE",
        "All flags:           --help",
    ])


def summary_text(result: BuildResult, mix: Mix | None = None) -> str:
    """One line per variant (folder, rows per split, prompt version), what became of each source in every
    variant, prompt-length statistics, and a warning for multi-turn pairs the length filter dropped."""
    lines = []
    for variant in result.variants.values():
        rows = ", ".join(f"{split} {n}" for split, n in variant.rows.items())
        lines.append(f"{variant.directory}: {rows} rows (prompt {variant.prompt_version}), {variant.manifest.name}")
    dropped = {reason: sum(c.values()) for reason, c in result.dropped.items() if c}
    drops = ", ".join(f"{reason} {n}" for reason, n in dropped.items())
    lines.append(f"read {sum(result.input_pairs.values())} pairs from {len(result.input_pairs)} sources"
                 f"{f'; dropped {drops}' if drops else ''}")
    paper = {s.name: s.paper_pairs for s in mix.sources if s.paper_pairs} if mix else {}
    for variant in result.variants.values():
        if stats := variant.prompt_tokens:
            over = f", {stats['over_limit']:,} over the limit of {stats['limit']:,}" if stats.get("limit") else ""
            lines.append(f"  {variant.variant} prompt tokens: min {stats['min']:,}, median {stats['median']:,}, "
                         f"p99 {stats['p99']:,}, max {stats['max']:,} ({stats['pairs']:,} pairs{over})")
        for source, acc in variant.accounting.items():
            note = f"; the paper used {paper[source]:,}" if source in paper else ""
            lines.append(f"  {source}: read {acc['read']:,}, dropped {acc['dropped']:,}, kept {acc['kept']:,} "
                         f"in {variant.variant}{note}")
    for variant in result.variants.values():
        if variant.too_long_multi_turn:
            lines.append(f"warning: the length filter dropped {variant.too_long_multi_turn:,} multi-turn pairs from "
                         f"{variant.variant} (their conversation history makes the judge prompt long); raise "
                         "--max-prompt-length to keep them.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Build as the flags say and print the summary; errors propagate (:func:`cli` turns them into exit codes)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(plan_text())
        return 0
    args = make_parser().parse_args(argv)
    options = options_from_args(args)
    if args.policy:
        from data_prep.policy_rows import build_policy  # the policy build is its own module

        built = build_policy(options)
        print(f"{built.directory}: rows {built.rows}, dropped {built.dropped}")
        return 0
    if not options.inputs and options.mix is None:
        raise BuildError("--inputs is required to build (or --mix rm_r1); run without arguments to see an example.")
    result = build(options)
    print(summary_text(result, options.mix))
    return 0


def cli(argv: Sequence[str] | None = None) -> int:
    """:func:`main` behind the project's exit codes: 0 built, 1 failed (disk, bug), 2 bad input, 130 Ctrl-C."""
    return run_cli(main, argv, prog=PROG)


if __name__ == "__main__":
    raise SystemExit(cli())
