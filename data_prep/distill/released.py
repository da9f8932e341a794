"""Use the datasets upstream RM-R1 released, detected by their schema (see data_prep/distill/released_schema.py).

    # an RL set, with its released prompt kept (prompt version upstream-released):
    python data_prep/released.py --inputs gaotang/RM-R1-after-Distill-RLVR@COMMIT --released-as prompts --out data/rm_r1
    # an RL set parsed back into preference pairs for our own build (cleaning, decontamination, our prompt):
    python data_prep/released.py --inputs DIR --released-as pairs --out data/released_pairs
    python data_prep/build_parquet.py --inputs data/released_pairs/pairs.jsonl ...
    # the SFT set, through the same trace filter as distill.py:
    python data_prep/released.py --inputs gaotang/RM-R1-Distill-SFT@COMMIT --out data/rm_r1/sft --tokenizer MODEL_DIR

--inputs is a .parquet/.jsonl/.json file, a folder (a hub snapshot: data/train-*.parquet) or a hub
name pinned as OWNER/NAME@COMMIT; with HF_HUB_OFFLINE=1 only local copies and the hub cache are used.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

from data_prep.distill.checks import TraceCheck, check_trace
from data_prep.distill.output import (
    IDENTITY_KEY,
    MANIFEST_NAME,
    OUTPUT_NAMES,
    SFT_MAX_LENGTH,
    OutputError,
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
from data_prep.distill.released_schema import (
    WINNERS,
    ReleasedDataError,
    chat_messages,
    checked_text,
    detect,
    has_label_leak,
    parse_prompt,
    prompt_key,
    row_id,
    same_candidates,
    variant_of,
    winner_of,
)
from data_prep.pairs import NAME, PairError, PreferencePair, make_pair, source_name_from
from data_prep.source_files import ResolvedFiles, columns, iter_rows, resolve
from data_prep.writers import ABILITY, data_source
from infra.cli_errors import OneLineParser
from infra.cli_flags import folder, location, seed, share_or_count, whole
from infra.output_guard import check_output
from infra.run_metadata import OutputRef
from infra.staged_output import check_folder
from reward_fns import VERDICT_FORMAT_VERSION

PROG = "python data_prep/released.py"
TOOL = "data_prep.released"
MODES = ("prompts", "pairs")
PAIR_NAMES = ("pairs.jsonl", MANIFEST_NAME)  # what a pairs folder's commit replaces
RELEASED_PROMPT_VERSION = "upstream-released"


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                           error_class=ReleasedDataError)
    add = parser.add_argument
    add("--inputs", type=location, required=True, metavar="FILE|DIR|OWNER/NAME@COMMIT", help="one released dataset")
    add("--released-as", choices=MODES, default=None,
        help="for an RL set: 'prompts' keeps the released prompt (verl RL parquet), 'pairs' parses it back into "
        "preference pairs for build_parquet.py")
    add("--out", type=folder, required=True, help="output folder")
    add("--source", type=_source, default=None,
        help="source name for data_source: lower-case letters, digits, _ . - (default: from the dataset name)")
    add("--val-size", type=share_or_count, default=0.02,
        help="validation share (below 1) or whole count (default: 0.02)")
    add("--seed", type=seed, default=0, help="seed of the train/val split, 0 to 2**63-1 (default: 0)")
    add("--tokenizer", type=location, default=None, metavar="PATH",
        help="SFT set: count row lengths with this tokenizer")
    add("--max-length", type=whole(least=1), default=SFT_MAX_LENGTH,
        help=f"SFT set: drop longer rows (default {SFT_MAX_LENGTH})")
    return parser


def _source(text: str) -> str:
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a source name (lower-case letters, digits, _ . -, "
                                         "at most 64)")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    check_folder(args.out, "--out", OutputError)
    # a file, folder or pinned hub name (OWNER/NAME@COMMIT)
    location, _, revision = args.inputs.partition("@") if not Path(args.inputs).exists() else (args.inputs, "", "")
    local = [("--inputs", location), ("--tokenizer", args.tokenizer)]
    check_output("--out", args.out, local, ours=lambda _: True)  # the files it replaces are checked by identity
    if not location.strip():
        raise ReleasedDataError(f"--inputs {args.inputs[:40]!r} names no file, folder or hub dataset; pass one, e.g. "
                                "OWNER/NAME@COMMIT.")
    files = resolve(location, what=f"released dataset {location}", fix="--inputs", revision=revision or None,
                    split="train")
    where = f"released dataset {files.name}"
    kind = detect(columns(files.files, where), list(islice(iter_rows(files.files, where), 8)), where)
    source = args.source or source_name_from(Path(files.name).stem if Path(files.name).exists()
                                             else files.name.split("/")[-1])
    if kind == "sft" and args.released_as is not None:
        raise ReleasedDataError(f"{where} is the SFT set (winner holds traces); --released-as is for the RL sets, "
                                "leave it out.")
    if kind == "rl" and args.released_as is None:
        raise ReleasedDataError(f"{where} is an RL set (winner model_a/model_b); pass --released-as prompts to keep "
                                "its prompt or --released-as pairs to rebuild it with ours.")
    write = {"prompts": _prompts, "pairs": _pairs}.get(args.released_as, _sft)
    print(write(iter_rows(files.files, where), files, source, where, args))
    return 0


def _prompts(rows: Iterable[Mapping[str, Any]], files: ResolvedFiles, source: str, where: str,
             args: argparse.Namespace) -> str:
    """Each released prompt once as a verl RL row; rows with upstream's "Chabot" label leak are kept and counted."""
    numbered = enumerate(rows, start=1)
    first = next(numbered, None)
    variant = rl_row(first[1], first[0], source, where)["extra_info"]["variant"] if first else "instruct"
    out = args.out / variant
    made_of = {"tool": TOOL, "input_sha256": files.sha256, "released_as": "prompts"}
    with OutputFiles(out, OUTPUT_NAMES, made_of) as target:  # locked before the long read, as every writer is
        built, repeats = unique_prompts(itertools.chain([first] if first else [], numbered), source, where)
        if {r["extra_info"]["variant"] for r in built} != {variant}:
            raise ReleasedDataError(f"{where} mixes prompts with and without a system message; pass one released "
                                    "set.")
        if len(built) < 2:
            raise ReleasedDataError(f"the dataset has only {len(built)} row(s); a train/val split needs at least 2, so "
                                    "pass the whole released set.")
        splits = split_examples(built, args.val_size, args.seed, order=lambda r: r["extra_info"]["pair_id"],
                                prompt=lambda r: prompt_key(r["prompt"]), salt="released-val")
        refs = write_splits({s: [{**r, "extra_info": {**r["extra_info"], "split": s, "index": i, "seed": args.seed}}
                                 for i, r in enumerate(c)] for s, c in splits.items()}, target.path)
        leaks = sum(r["extra_info"]["label_leak"] for r in built)
        counts = {"read": len(built) + repeats["duplicate_prompts"], "rows": {s: len(c) for s, c in splits.items()},
                  "label_leak": leaks, "multi_turn": sum(r["extra_info"]["multi_turn"] for r in built), **repeats,
                  "chosen_position_total": dict(sorted(Counter(r["reward_model"]["ground_truth"]
                                                               for r in built).items()))}
        config = {"data_kind": "rl", "released_as": "prompts", "variant": variant, "tokenizer": None,
                  "max_prompt_length": None, "chat_template_kwargs": {},
                  "splits": {s: f"{s}.parquet" for s, c in splits.items() if c}, "val_size": args.val_size,
                  IDENTITY_KEY: made_of}
        run_manifest(tool=TOOL, inputs=[files.input_ref], prompt_version=RELEASED_PROMPT_VERSION, seed=args.seed,
                     config=config, counts=counts, outputs=refs).write(target.path(MANIFEST_NAME))
        target.commit()
    notes = [f"{leaks} rows carry upstream's 'Chabot' label leak (kept, counted)"] if leaks else []
    notes += [f"{n} {what.replace('_', ' ')}" for what, n in repeats.items() if n]
    return f"{out}: {', '.join(f'{s} {len(c)}' for s, c in splits.items())} rows (prompt {RELEASED_PROMPT_VERSION})" \
           + "".join(f"; {note}" for note in notes)


def unique_prompts(rows: Iterable[tuple[int, Any]], source: str, where: str
                   ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """RL rows, each released prompt once (the first copy kept, so no prompt lands in both train and val); and the
    counts of repeated prompts dropped, those among them naming the other winner, and rows whose
    two candidates are the same text (kept: the released prompt is not ours to edit)."""
    seen: dict[bytes, str] = {}
    built, counts = [], {"duplicate_prompts": 0, "duplicates_with_the_other_winner": 0, "identical_candidates": 0}
    for number, raw in rows:
        row = rl_row(raw, number, source, where)
        key = prompt_key(row["prompt"])
        label = row["reward_model"]["ground_truth"]
        if key in seen:
            counts["duplicate_prompts"] += 1
            counts["duplicates_with_the_other_winner"] += seen[key] != label
            continue
        seen[key] = label
        counts["identical_candidates"] += same_candidates(row["prompt"][-1]["content"])
        built.append(row)
    return built, counts


def _pairs(rows: Iterable[Mapping[str, Any]], files: ResolvedFiles, source: str, where: str,
           args: argparse.Namespace) -> str:
    """Every row parsed back into a pair file for build_parquet.py (our cleaning and prompt); a bad row stops it."""
    made_of = {"tool": TOOL, "input_sha256": files.sha256, "released_as": "pairs"}
    with OutputFiles(args.out, PAIR_NAMES, made_of) as target:  # locked before the long read, as every writer is
        pairs, prompts = [], set()
        for number, raw in enumerate(rows, start=1):
            pairs.append(released_pair(raw, number, source, where))
            prompts.add(prompt_key(raw["context_messages"]))
        if not pairs:
            raise ReleasedDataError(f"{where} has no rows; pass a released RL set.")
        leaks = sum(bool(p.metadata.get("label_leak")) for p in pairs)
        # kept and counted: build_parquet drops identical and duplicate pairs (never across splits) and says so
        counts = {"read": len(pairs), "pairs": len(pairs), "multi_turn": sum(p.is_multi_turn for p in pairs),
                  "label_leak": leaks, "duplicate_prompts": len(pairs) - len(prompts),
                  "identical_candidates": sum(p.chosen == p.rejected for p in pairs)}
        config = {"data_kind": "pairs", "released_as": "pairs", "variant": None, IDENTITY_KEY: made_of}
        staged = target.path("pairs.jsonl")  # build_parquet.py's input format, sorted by id
        staged.write_text("".join(json.dumps({
            "id": p.id, "source": p.source, "messages": list(p.conversation), "chosen": list(p.chosen),
            "rejected": list(p.rejected), "metadata": dict(p.metadata)}, ensure_ascii=False, sort_keys=True) + "\n"
            for p in sorted(pairs, key=lambda p: p.id)), encoding="utf-8", newline="\n")
        refs = [OutputRef.for_file(staged, staged.parent, rows=len(pairs))]
        run_manifest(tool=TOOL, inputs=[files.input_ref], prompt_version=None, seed=args.seed, config=config,
                     counts=counts, outputs=refs).write(target.path(MANIFEST_NAME))
        target.commit()
    path = args.out / "pairs.jsonl"
    repeats = "".join(f", {counts[k]} {k.replace('_', ' ')}" for k in ("duplicate_prompts", "identical_candidates")
                      if counts[k])
    return (f"{path}: {len(pairs)} pairs ({counts['multi_turn']} multi-turn, {leaks} had the 'Chabot' label leak, "
            f"gone once re-rendered{repeats}); next: python data_prep/build_parquet.py --inputs {path} [--variant ...]")


def _sft(rows: Iterable[Mapping[str, Any]], files: ResolvedFiles, source: str, where: str,
         args: argparse.Namespace) -> str:
    made_of = {"tool": TOOL, "input_sha256": files.sha256, "released_as": "sft"}
    with OutputFiles(args.out, OUTPUT_NAMES, made_of) as target:  # locked before the long read, as every writer is
        checked = [sft_example(raw, i, source, where) for i, raw in enumerate(rows, start=1)]
        count = None
        if args.tokenizer is not None and checked:
            from data_prep.length_filter import load_tokenizer

            count = checked_counter(load_tokenizer(args.tokenizer), {}, checked[0][0])
        measured = [replace(e, length=count(e) if count else None) for e, check in checked if check.kept]
        kept = [e for e in measured if e.length is None or e.length <= args.max_length]
        too_long = len(measured) - len(kept)
        counted = pass_counts(c for _, c in checked)
        rejected = {r: n for r, n in counted["rejected"].items() if n}
        if not kept:
            raise ReleasedDataError(f"{where}: no trace passed the filter (rejected: {rejected}); check the dataset.")
        splits = split_examples(kept, args.val_size, args.seed, order=lambda e: e.row_id, prompt=prompt_text)
        max_length = args.max_length if count else None
        counts = {"passes": {"released": counted},
                  "merged": {"rows_in": len(checked), "kept": len(kept), "too_long_dropped": too_long,
                             "label_leak": sum(e.extra_info["label_leak"] for e, _ in checked)},
                  "rows": {s: len(e) for s, e in splits.items()},
                  "repeated_prompts": len(kept) - len({prompt_text(e) for e in kept}),  # kept, each in one split
                  "lengths": length_stats([e.length for e in kept if e.length is not None], max_length,
                                          "tokenizer" if count else "unmeasured", too_long)}
        config = filter_config(min(e.extra_info["variant"] for e, _ in checked), max_length, args.tokenizer, {},
                               [s for s, e in splits.items() if e]) | {
            "ground_truth": "unavailable in the released set", "released_as": "sft", IDENTITY_KEY: made_of}
        refs = write_splits({s: [e.row() for e in chunk] for s, chunk in splits.items()}, target.path)
        run_manifest(tool=TOOL, inputs=[files.input_ref], prompt_version=RELEASED_PROMPT_VERSION, seed=args.seed,
                     config=config, counts=counts, outputs=refs).write(target.path(MANIFEST_NAME))
        target.commit()
    return (f"{args.out}: {', '.join(f'{s} {len(e)}' for s, e in splits.items())} rows from {len(checked)} released "
            f"traces; rejected: {', '.join(f'{r} {n}' for r, n in rejected.items()) or 'none'}; too long {too_long}")


def rl_row(raw: Mapping[str, Any], number: int, source: str, where: str) -> dict[str, Any]:
    """One released RL row as a verl RL row (split, index and seed are filled in when written)."""
    messages = chat_messages(raw.get("context_messages"), f"{where} row {number}")
    label = WINNERS[winner_of(raw, f"{where} row {number}")]
    text = messages[-1]["content"]
    return {
        "data_source": data_source(source),
        "prompt": messages,
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": label},
        "extra_info": {
            "split": "", "index": 0, "pair_id": row_id(messages, raw["winner"]), "source": source,
            "chosen_position": label, "multi_turn": "Conversation between" in text, "variant": variant_of(messages),
            "prompt_version": RELEASED_PROMPT_VERSION, "template_sha256": "",
            "verdict_format_version": VERDICT_FORMAT_VERSION, "seed": 0, "label_leak": has_label_leak(text),
            "released_row": number,
        },
    }


def released_pair(raw: Mapping[str, Any], number: int, source: str, where: str) -> PreferencePair:
    """One released RL row parsed back into a pair (chosen = the winner's side); raises on any bad row."""
    at = f"{where} row {number}"
    messages = chat_messages(raw.get("context_messages"), at)
    parsed = parse_prompt(messages[-1]["content"], at)
    chosen, rejected = (parsed.answer_a, parsed.answer_b) if winner_of(raw, at) == "model_a" else \
        (parsed.answer_b, parsed.answer_a)
    metadata = {"released_row": number, "released_variant": variant_of(messages),
                "label_leak": has_label_leak(messages[-1]["content"])}
    try:
        return make_pair(source, list(parsed.conversation), list(chosen), list(rejected),
                         pair_id=row_id(messages, raw["winner"]), metadata=metadata)
    except PairError as err:
        raise ReleasedDataError(f"{at}: {err}") from err


def sft_example(raw: Mapping[str, Any], number: int, source: str, where: str) -> tuple[SftExample, TraceCheck]:
    """One released trace as an SFT example and what the trace filter says of it (no labels: no verdict check)."""
    at = f"{where} row {number}"
    messages = chat_messages(raw.get("context_messages"), at)
    trace = raw.get("winner")
    if not isinstance(trace, str):
        raise ReleasedDataError(f"{at}: winner is not the trace text; pass the released SFT set unchanged.")
    checked_text(trace, at)
    variant = variant_of(messages)
    check = check_trace(trace, None, variant, check_leak=True)
    extra = {"source": source, "released_row": number, "variant": variant,
             "label_leak": has_label_leak(messages[-1]["content"]), "verdict": check.label or ""}
    example = SftExample(row_id(messages, trace), tuple(messages), trace, data_source(source), extra)
    return example, check
