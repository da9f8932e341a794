"""Build verl-ready judge data from preference pairs.

    python data_prep/build_parquet.py            # show what would be built and how to point it at data
    python data_prep/build_parquet.py --inputs data_prep/samples/pairs.jsonl --val-size 0.2 \\
        --distill-fraction 0.2 --out data/rm_r1

Writes, for each variant, {out}/{variant}/train.parquet, val.parquet, distill.parquet (only with
--distill-fraction > 0) in verl's RL row schema, and manifest.json describing how they were made.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_prep.adapters import InputFileError, parse_input_spec
from data_prep.length_filter import TokenizerError
from data_prep.pairs import PairError
from data_prep.pipeline import DEFAULT_OUT, DEFAULT_VAL_SIZE, BuildError, BuildOptions, BuildResult, build, describe
from data_prep.prompts import PROMPT_VERSION, VARIANTS, TemplateError

__all__ = ["build", "main"]
SAMPLES = Path(__file__).resolve().parent / "samples" / "pairs.jsonl"
USER_ERRORS = (BuildError, InputFileError, PairError, TemplateError, TokenizerError)


def make_parser() -> argparse.ArgumentParser:
    """The command-line interface (every flag has help)."""
    parser = argparse.ArgumentParser(
        prog="python data_prep/build_parquet.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--inputs", nargs="+", metavar="[SOURCE=]FILE",
        help="preference-pair files (.jsonl/.json/.parquet with prompt or messages, chosen, rejected); "
        "SOURCE= names the source of rows without a 'source' column (default: the file name)")
    add("--variant", nargs="+", default=list(VARIANTS), metavar="NAME",
        help=f"prompt variants to build: {' and/or '.join(VARIANTS)} (default: both)")
    add("--out", type=Path, default=DEFAULT_OUT,
        help=f"output folder; one subfolder per variant (default: {DEFAULT_OUT})")
    add("--val-size", type=float, default=DEFAULT_VAL_SIZE,
        help="validation split: a fraction of each source if below 1, else a total count "
        f"(default: {DEFAULT_VAL_SIZE})")
    add("--distill-fraction", type=float, default=0.0,
        help="share of the non-val pairs set aside as distill.parquet for distillation traces (paper: 0.12; default 0)")
    add("--seed", type=int, default=0, help="seed for the splits and the A/B placement (default: 0)")
    add("--prompt-template", type=Path, default=None, metavar="FILE",
        help="use this template file instead of the built-in one (needs exactly one --variant; its hash becomes "
        "the prompt version)")
    add("--tokenizer", default=None, metavar="PATH",
        help="tokenizer (model folder) for the prompt-length filter; needs --max-prompt-length")
    add("--max-prompt-length", type=int, default=None, metavar="TOKENS",
        help="drop pairs whose prompt (either A/B order) exceeds this many tokens; match data.max_prompt_length")
    add("--chat-template-kwargs", type=_json_object, default={}, metavar="JSON",
        help='extra apply_chat_template arguments, e.g. \'{"enable_thinking": true}\'; used by the length filter '
        "and recorded in the manifest for the recipes")
    add("--no-progress", action="store_true", help="hide progress bars")
    return parser


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON ({err.msg}); pass an object like '{{}}'") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object; pass one like '{{\"k\": true}}'")
    return value


def options_from_args(args: argparse.Namespace) -> BuildOptions:
    """Turn parsed arguments into :class:`BuildOptions`."""
    return BuildOptions(
        inputs=tuple(parse_input_spec(text) for text in args.inputs or ()),
        out=args.out,
        variants=tuple(dict.fromkeys(args.variant)),
        val_size=args.val_size,
        distill_fraction=args.distill_fraction,
        seed=args.seed,
        prompt_template=args.prompt_template,
        tokenizer=args.tokenizer,
        max_prompt_length=args.max_prompt_length,
        chat_template_kwargs=args.chat_template_kwargs,
        progress=not args.no_progress,
    )


def plan_text() -> str:
    """What a run without arguments prints: the default plan and how to point the builder at data."""
    samples = os.path.relpath(SAMPLES) if not os.path.relpath(SAMPLES).startswith("..") else os.fspath(SAMPLES)
    options = BuildOptions(inputs=(parse_input_spec(samples),))
    return "\n".join([
        f"Nothing built: no --inputs given. With the bundled sample pairs it would write (prompt {PROMPT_VERSION}):",
        describe(options),
        "",
        "Build the samples:   python data_prep/build_parquet.py --inputs "
        f"{samples} --val-size 0.2 --distill-fraction 0.2",
        "Your own pairs:      --inputs FILE [SOURCE=FILE ...]  (.jsonl/.json/.parquet with 'prompt' or 'messages', "
        "'chosen', 'rejected')",
        "Length filter:       --tokenizer MODEL_DIR --max-prompt-length 4096",
        "All flags:           --help",
    ])


def summary_text(result: BuildResult) -> str:
    """One line per variant: folder, rows per split, prompt version."""
    lines = []
    for variant in result.variants.values():
        rows = ", ".join(f"{split} {n}" for split, n in variant.rows.items())
        lines.append(f"{variant.directory}: {rows} rows (prompt {variant.prompt_version}), {variant.manifest.name}")
    dups = sum(result.duplicates.values())
    lines.append(f"read {sum(result.input_pairs.values())} pairs from {len(result.input_pairs)} sources"
                 f"{f', dropped {dups} exact duplicates' if dups else ''}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 a user error explained in one sentence, 2 bad usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(plan_text())
        return 0
    args = make_parser().parse_args(argv)
    try:
        options = options_from_args(args)
        if not options.inputs:
            raise BuildError("--inputs is required to build; run without arguments to see an example.")
        result = build(options)
    except USER_ERRORS as err:
        print(f"build_parquet: error: {err}", file=sys.stderr)
        return 1
    print(summary_text(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
